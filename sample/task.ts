/** The channel the sample's background task consumer listens on. */
export const TASKS_CHANNEL = 'sample.tasks';

/**
 * The reply channels of tasks: `POST /tasks` makes a fresh single-reader channel under this name
 * for each request, and the consumer answers no other channel (clients never name where a server
 * sends).
 */
export const TASK_RESULTS = 'sample.results?';

/** The longest task text; longer is refused. */
export const MAX_TASK_TEXT = 1000;

/** The task text of a request body or message: a string of 1 to 1000 characters; null for anything else. */
export function taskText(body: unknown): string | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return null;
  const text = (body as { text?: unknown }).text;
  return typeof text === 'string' && text.length > 0 && text.length <= MAX_TASK_TEXT ? text : null;
}
