// node:stream/consumers: a whole stream (a Node.js Readable, a ReadableStream or any async
// iterable) read into one value.
import { Buffer } from 'buffer';

// The chunks, as the Blob constructor takes them.
async function chunksOf(stream) {
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

export async function blob(stream) {
  return new Blob(await chunksOf(stream));
}

export async function arrayBuffer(stream) {
  return (await blob(stream)).arrayBuffer();
}

export async function buffer(stream) {
  return Buffer.from(await arrayBuffer(stream));
}

// Strings are taken as they are; bytes are decoded as UTF-8 across chunk boundaries.
export async function text(stream) {
  const decoder = new TextDecoder();
  let result = '';
  for await (const chunk of stream) {
    result += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
  }
  return result + decoder.decode();
}

export async function json(stream) {
  return JSON.parse(await text(stream));
}
