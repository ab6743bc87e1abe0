// A POST that sends its head and none of its body, over a raw socket, for tests of admission:
// the server takes (or refuses) the request's place when the head arrives, so such a request
// holds a place for as long as the socket stays open, whatever the speed of generation; and what
// the server answers and whether it closes the connection can be seen byte for byte.
import { connect, type Socket } from 'node:net';

export interface HeadOnlyRequest {
  socket: Socket;
  /** Everything the server sent, once it closed the connection (rejects after `timeoutMs`). */
  closedWith: Promise<string>;
}

export function postHeadOnly(url: string, contentLength: number, timeoutMs = 10_000): HeadOnlyRequest {
  const { hostname, port, pathname } = new URL(url);
  const socket = connect(Number(port), hostname);
  socket.setEncoding('utf8');
  let received = '';
  socket.on('data', (chunk: string) => {
    received += chunk;
  });
  const closedWith = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the connection open; it sent: ${JSON.stringify(received)}`));
    }, timeoutMs);
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('end', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(received);
    });
  });
  closedWith.catch(() => {}); // a caller that only holds a place never awaits it
  socket.write(
    `POST ${pathname} HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nContent-Length: ${contentLength}\r\n\r\n`,
  );
  return { socket, closedWith };
}
