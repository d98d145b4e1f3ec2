/**
 * A pass-through HTTP proxy in front of the test S3 server that holds chosen requests back for a
 * while: on loopback an upload ends before a person (or a screenshot) could see its progress.
 * Signed requests stay valid: the Host header the client signed is passed on unchanged.
 */
import * as http from 'node:http';

export interface DelayingProxy {
  /** `http://127.0.0.1:<port>`, to use as the store's endpoint. */
  readonly endpoint: string;
  /** Requests the client abandoned before they were forwarded. */
  readonly abandoned: number;
  close(): Promise<void>;
}

export async function startDelayingProxy(target: string, delayMs: (request: http.IncomingMessage) => number): Promise<DelayingProxy> {
  const upstream = new URL(target);
  let abandoned = 0;
  const server = http.createServer((request, response) => {
    let outgoing: http.ClientRequest | undefined;
    let gone = false;
    // A client that gives up (Cancel) ends the upstream request, or keeps a held one from being sent.
    response.on('close', () => {
      gone = true;
      if (outgoing) outgoing.destroy();
      else abandoned += 1;
    });
    const forward = () => {
      if (gone) return;
      outgoing = http.request(
        { host: upstream.hostname, port: upstream.port, method: request.method, path: request.url, headers: request.headers },
        (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
        },
      );
      outgoing.on('error', () => response.destroy());
      request.pipe(outgoing);
    };
    const delay = delayMs(request);
    if (delay > 0) setTimeout(forward, delay);
    else forward();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('the proxy has no port');
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    get abandoned() {
      return abandoned;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
