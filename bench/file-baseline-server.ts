// The floor file transfers are measured against: a bare node:http server that writes uploads to
// the same disk and streams them back, with nothing else (no authentication, no protocol, no
// database). It takes the same requests the bench sends Parley, in the same chunks:
//
//   POST /u            with Upload-Length       → 201, Location /u/<id>
//   PATCH /u/<id>      with Upload-Offset, body → 204, Upload-Offset (appended at that offset)
//   GET /f/<id>                                 → 200, the bytes
//
//   tsx bench/file-baseline-server.ts --port N --data DIR
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

const args = process.argv.slice(2);
const arg = (name: string) => args[args.indexOf(`--${name}`) + 1]!;
const dir = arg('data');
fs.mkdirSync(dir, { recursive: true });
let next = 0;

const server = http.createServer((req, res) => {
  const [, kind, id] = (req.url ?? '').split('/');
  const file = id ? path.join(dir, id.replace(/\W/g, '')) : '';
  const fail = (err: unknown) => {
    if (!res.headersSent) res.writeHead(500);
    res.end(String(err));
  };
  if (req.method === 'POST' && kind === 'u') {
    const name = `b${++next}`;
    fs.writeFileSync(path.join(dir, name), '');
    res.writeHead(201, { location: `/u/${name}` }).end();
  } else if (req.method === 'PATCH' && kind === 'u' && id) {
    const offset = Number(req.headers['upload-offset']);
    pipeline(req, fs.createWriteStream(file, { flags: 'r+', start: offset })).then(
      () => res.writeHead(204, { 'upload-offset': String(fs.statSync(file).size) }).end(),
      fail,
    );
  } else if (req.method === 'GET' && kind === 'f' && id) {
    res.writeHead(200, { 'content-length': fs.statSync(file).size, 'content-type': 'application/octet-stream' });
    pipeline(fs.createReadStream(file), res).catch(fail);
  } else res.writeHead(404).end();
});
server.listen(Number(arg('port')), '127.0.0.1');
