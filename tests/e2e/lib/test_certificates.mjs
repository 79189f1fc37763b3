// A throwaway certificate authority and server certificates for tests that speak TLS, made with
// the openssl command in a folder the caller owns (and removes).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

function openssl(argv, cwd) {
  const r = spawnSync('openssl', argv, { cwd, encoding: 'utf8' });
  if (r.error) throw new Error(`openssl: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`openssl ${argv.join(' ')} failed (${r.status}):\n${r.stderr}`);
}

// Returns { caFile, good, wrong, untrusted }: `good` is signed by the CA for 127.0.0.1 and
// localhost, `wrong` by the CA for another name, `untrusted` self-signed for 127.0.0.1; each is
// { key, cert } in PEM, as node:https and node:http2 take them.
export function makeTestCertificates(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Dorm fetch test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  const leaf = (name, cn, san, serial) => {
    fs.writeFileSync(path.join(dir, `${name}.ext`),
      `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=${san}\n`);
    openssl(['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`], dir);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', String(serial),
      '-days', '2', '-out', `${name}.pem`, '-extfile', `${name}.ext`], dir);
  };
  leaf('good', '127.0.0.1', 'IP:127.0.0.1,DNS:localhost', 1001);
  leaf('wrong', 'wrong.example', 'DNS:wrong.example', 1002);
  openssl(['req', '-x509', ...ec, '-keyout', 'untrusted.key', '-out', 'untrusted.pem', '-days', '2', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-addext', 'basicConstraints=CA:FALSE'], dir);
  const read = (f) => fs.readFileSync(path.join(dir, f), 'utf8');
  return {
    caFile: path.join(dir, 'ca.pem'),
    good: { key: read('good.key'), cert: read('good.pem') },
    wrong: { key: read('wrong.key'), cert: read('wrong.pem') },
    untrusted: { key: read('untrusted.key'), cert: read('untrusted.pem') },
  };
}
