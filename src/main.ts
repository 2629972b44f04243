/**
 * `npm start`: the server (src/cli/serve.ts) with the command line's options. The `icerelay`
 * command (src/cli/main.ts) offers it as `icerelay serve` next to its other commands.
 */
import { serve } from './cli/serve.ts';

await serve(process.argv.slice(2));
