import type { Socket } from 'node:net';
import { ScimError } from '../scim/errors.js';

/** Malformed HTTP or oversized headers: still a SCIM Error, never Node's bare answer. */
export function scimClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const body = JSON.stringify(
    new ScimError(status, status === 431 ? 'Request headers are too large' : 'Malformed HTTP request', status === 400 ? 'invalidSyntax' : undefined).toJSON(),
  );
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const reason = status === 431 ? 'Request Header Fields Too Large' : 'Bad Request';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/scim+json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}
