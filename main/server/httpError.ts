/** An error whose status and message are meant for the client: the boundary answers it as JSON. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The one error body every route answers: `{"action":"error","message":…}`. */
export const errorBody = (message: string) => ({ action: 'error', message });
