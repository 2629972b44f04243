/**
 * Errors that map to an Iceberg REST error response: `{"error": {"message", "type", "code"}}`.
 * Handlers throw these; one error handler in the server turns them into responses.
 * The `type` strings are the Java exception names clients dispatch on (see the REST spec examples).
 */
export class IcebergError extends Error {
  override readonly name = 'IcebergError';
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    super(message, options);
    this.headers = options?.headers;
  }
  readonly headers: Record<string, string> | undefined;

  toResponseBody(): { error: { message: string; type: string; code: number } } {
    return { error: { message: this.message, type: this.type, code: this.status } };
  }

  /** The HTTP response every Icerelay endpoint answers this error with. */
  toResponse(): Response {
    return new Response(JSON.stringify(this.toResponseBody()), {
      status: this.status,
      headers: { 'content-type': 'application/json', ...this.headers },
    });
  }
}

/** 400 for a request that is malformed or invalid. Java clients rethrow `IllegalArgumentException` verbatim. */
export const badRequest = (message: string, type = 'BadRequestException') => new IcebergError(400, type, message);
/** 400 `IllegalArgumentException`: an invalid value in an otherwise well-formed request (Java's wording). */
export const invalidArgument = (message: string) => new IcebergError(400, 'IllegalArgumentException', message);
/** 400 `ValidationException`: the metadata change would produce invalid table metadata. */
export const validationFailed = (message: string) => new IcebergError(400, 'ValidationException', message);
export const forbidden = (message: string) => new IcebergError(403, 'ForbiddenException', message);
export const noSuchNamespace = (namespace: string) =>
  new IcebergError(404, 'NoSuchNamespaceException', `Namespace does not exist: ${namespace}`);
export const noSuchTable = (table: string) => new IcebergError(404, 'NoSuchTableException', `Table does not exist: ${table}`);
export const noSuchView = (view: string) => new IcebergError(404, 'NoSuchViewException', `View does not exist: ${view}`);
export const notFound = (message: string) => new IcebergError(404, 'NotFoundException', message);
export const unsupported = (message: string) => new IcebergError(406, 'UnsupportedOperationException', message);
export const alreadyExists = (message: string) => new IcebergError(409, 'AlreadyExistsException', message);
export const commitFailed = (message: string) => new IcebergError(409, 'CommitFailedException', message);
export const namespaceNotEmpty = (namespace: string) =>
  new IcebergError(409, 'NamespaceNotEmptyException', `Namespace ${namespace} is not empty`);
export const payloadTooLarge = (limit: number) =>
  new IcebergError(413, 'RequestEntityTooLargeException', `Request body is larger than the limit of ${limit} bytes`);
export const unprocessable = (message: string) => new IcebergError(422, 'UnprocessableEntityException', message);
export const commitStateUnknown = (message: string, cause?: unknown) =>
  new IcebergError(500, 'CommitStateUnknownException', message, { cause });
export const serviceUnavailable = (message: string) => new IcebergError(503, 'ServiceUnavailableException', message);
