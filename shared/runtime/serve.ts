import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import type { HttpHandler } from './http-handler.js';

export interface RunningServer {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Register a handler with functions-framework under `name` and serve it in-process on a local port.
 * Used by tests and in-process runs; deployed functions are started by the functions-framework CLI.
 */
export async function serveInProcess(name: string, handler: HttpHandler, port = 0): Promise<RunningServer> {
  http(name, handler as never);
  const server: Server = getTestServer(name);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
