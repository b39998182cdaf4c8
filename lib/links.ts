// Where a person reads a task: the board's task page, signed-in HTML. Links in Slack cards, notices
// and HubSpot tickets point there — the JSON API (/api/tasks/:id) needs the bearer token, and a
// reviewer who followed a link to it got a 401 in JSON instead of the work to approve.

/** The task's page under the server's public base URL (FOREMAN_PUBLIC_URL). */
export const taskPageUrl = (publicUrl: string, taskId: string): string =>
  `${publicUrl.replace(/\/+$/, "")}/board/tasks/${encodeURIComponent(taskId)}`;
