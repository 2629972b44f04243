/**
 * Where the browser tests find Chromium: `ICERELAY_CHROMIUM`, else `chromium` on the PATH
 * (Debian's package; Playwright's own browser downloads are not used). A missing browser fails
 * the tests with this message, so a machine without it cannot pass them by skipping quietly;
 * `ICERELAY_SKIP_BROWSER=1` skips them on purpose.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export const browserSkip = process.env.ICERELAY_SKIP_BROWSER === '1'
  ? 'ICERELAY_SKIP_BROWSER=1 is set'
  : undefined;

const executable = (path: string) => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** The Chromium to launch; throws with what to do when there is none. */
export function chromiumPath(): string {
  const chosen = process.env.ICERELAY_CHROMIUM;
  if (chosen) {
    if (executable(chosen)) return chosen;
    throw new Error(`ICERELAY_CHROMIUM=${chosen} is not an executable file (unset it to use chromium from the PATH)`);
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && executable(join(dir, 'chromium'))) return join(dir, 'chromium');
  }
  throw new Error(
    'Chromium not found: the browser tests need it. Install it (Debian: apt-get install -y chromium), ' +
      'or point ICERELAY_CHROMIUM at a Chromium binary; ICERELAY_SKIP_BROWSER=1 skips these tests instead.',
  );
}
