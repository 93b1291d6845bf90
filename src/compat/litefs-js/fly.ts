/**
 * `http://<instance>.vm.<FLY_APP_NAME>.internal:<port>`, the address of one Fly Machine on the private network, as
 * litefs-js builds it. The same shape works as litefs-forward's `advertiseUrl` (with the forwarding port).
 */
export function getInternalInstanceDomain(instance: string, port: string | undefined = process.env.INTERNAL_PORT ?? process.env.PORT): string {
  if (port === undefined || port === '') {
    throw new Error('litefs-forward/litefs-js: INTERNAL_PORT or PORT must be set, or pass a port to getInternalInstanceDomain.');
  }
  const app = process.env.FLY_APP_NAME;
  if (!app) throw new Error('litefs-forward/litefs-js: FLY_APP_NAME is not set; getInternalInstanceDomain builds Fly.io private-network addresses only.');
  return `http://${instance}.vm.${app}.internal:${port}`;
}

/**
 * The response Fly.io's proxy replays on another Machine: a 302 to `/` with `fly-replay: instance=<instance>`, as
 * litefs-js/remix. Only Fly's edge acts on it; anywhere else the client just sees a redirect.
 */
export function getReplayResponse(instance: string): Response {
  return new Response(null, { status: 302, headers: { Location: '/', 'fly-replay': `instance=${instance}` } });
}
