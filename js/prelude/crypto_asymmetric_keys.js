// The public-key algorithms of crypto.subtle: RSASSA-PKCS1-v1_5, RSA-PSS, RSA-OAEP, ECDSA, ECDH
// (P-256, P-384, P-521), Ed25519 (and workerd's NODE-ED25519) and X25519. Checks and messages are
// workerd's, in its order; the keys are DER held by each CryptoKey (crypto_key.js) and the
// cryptography is native (src/runtime/crypto_keys.cc, crypto_signatures.cc, crypto_rsa_oaep.cc,
// crypto_key_agreement.cc).
import native from './native.js';
import {
  Uint8ArrayCtor, append, byteLength, ceil, copyBytes, startsWith, stringSliceFrom, toArrayBuffer,
  toUpperCase,
} from './crypto_intrinsics.js';
import { createKey, usageList } from './crypto_key.js';
import { base64UrlDecode, base64UrlEncode, makeJsonWebKey } from './crypto_jwk.js';
import {
  Usage, derivationMask, digestSize, domError, lookupDigest, privateKeyMask, publicKeyMask,
  requireHash, typeError, validateUsages,
} from './crypto_params.js';

const signUsages = Usage.sign | Usage.verify;
const oaepUsages = Usage.encrypt | Usage.decrypt | Usage.wrapKey | Usage.unwrapKey;

const curves = { __proto__: null, 'P-256': 'P-256', 'P-384': 'P-384', 'P-521': 'P-521' };
const coordinateBytes = { __proto__: null, 'P-256': 32, 'P-384': 48, 'P-521': 66 };

function lookupCurve(namedCurve) {
  if (namedCurve === undefined) throw typeError('Missing field "namedCurve" in "algorithm".');
  const canonical = curves[toUpperCase(namedCurve)];
  if (canonical === undefined) {
    throw domError('NotSupportedError', `Unrecognized or unimplemented EC curve "${namedCurve}" requested.`);
  }
  return canonical;
}

// --- Import ---

// The bytes of a base64url JWK member, or a DataError with `message`.
function jwkBytes(value, message) {
  const bytes = value === undefined ? null : base64UrlDecode(value);
  if (bytes === null) throw domError('DataError', message);
  return bytes;
}

function keyFromJwkOrFail(kind, curve, parts, message) {
  const der = native.keyFromJwk(kind, curve, parts);
  if (der === null) throw domError('DataError', message);
  return der;
}

// The JWK, SPKI and PKCS #8 import steps every algorithm shares: usages allowed for the key's
// type, the JWK's use/key_ops/ext against them, and the DER. Returns { type, set, der, info }:
// `info` is keyParse's answer for SPKI and PKCS #8 ([kind, der, trailing, detail, exponent]), null
// for JWK (readJwk then knows the kind). `readJwk(jwk)` returns the DER of a JWK.
function importAsymmetric(name, format, data, extractable, usages, allowed, readJwk) {
  if (format === 'jwk') {
    const jwk = data;
    let type;
    let set;
    if (jwk.d !== undefined) {
      type = 'private';
      set = validateUsages(name, 'import private', usages, allowed & privateKeyMask);
      if (jwk.oth !== undefined) throw domError('NotSupportedError', 'Multi-prime private keys not supported.');
    } else {
      type = 'public';
      set = validateUsages(name, 'import public', usages, allowed & (name === 'ECDH' ? 0 : publicKeyMask));
    }
    let expectedUse = 'sig';
    let op0 = 'sign';
    let op1 = 'verify';
    if (name === 'RSA-OAEP') {
      expectedUse = 'enc';
      op0 = 'encrypt';
      op1 = 'wrapKey';
    } else if (name === 'ECDH' || name === 'X25519') {
      expectedUse = 'enc';
      op0 = 'unused';
      op1 = 'unused';
    }
    if (usages.length > 0 && jwk.use !== undefined && jwk.use !== expectedUse) {
      throw domError('DataError', 'Asymmetric "jwk" key import with usages requires a JSON Web Key with '
        + `Public Key Use parameter "use" ("${jwk.use}") equal to "sig".`);
    }
    const ops = jwk.key_ops;
    if (ops !== undefined) {
      for (let i = 0; i < ops.length; i++) {
        for (let j = i + 1; j < ops.length; j++) {
          if (ops[i] === ops[j]) {
            throw domError('DataError', 'A JSON Web Key\'s Key Operations parameter ("key_ops") must not '
              + 'contain duplicates.');
          }
        }
      }
      if (jwk.use !== undefined) {
        if (jwk.use !== expectedUse) {
          throw domError('DataError', 'Asymmetric "jwk" import requires a JSON Web Key with Public Key Use '
            + `"use" ("${jwk.use}") equal to "${expectedUse}".`);
        }
        for (let i = 0; i < ops.length; i++) {
          if (name === 'ECDH' || name === 'X25519') {
            throw domError('DataError', 'A JSON Web Key should have either a Public Key Use parameter '
              + '("use") or a Key Operations parameter ("key_ops"); otherwise, the parameters must be '
              + `consistent with each other. For public ${name} keys, there are no valid usages,so keys `
              + 'with a non-empty "key_ops" parameter are not allowed.');
          }
          if (ops[i] !== op0 && ops[i] !== op1) {
            throw domError('DataError', 'A JSON Web Key should have either a Public Key Use parameter '
              + '("use") or a Key Operations parameter ("key_ops"); otherwise, the parameters must be '
              + `consistent with each other. A Public Key Use for ${name} would allow a Key Operations `
              + `array with only "${op0}" and/or "${op1}" values (not "${ops[i]}").`);
          }
        }
      }
      for (let i = 0; i < usages.length; i++) {
        let found = false;
        for (let j = 0; j < ops.length; j++) found = found || ops[j] === usages[i];
        if (!found) {
          throw domError('DataError', 'All specified key usages must be present in the JSON Web Key\'s '
            + 'Key Operations parameter ("key_ops").');
        }
      }
    }
    if (jwk.ext !== undefined && extractable && !jwk.ext) {
      throw domError('DataError', 'Cannot create an extractable CryptoKey from an unextractable JSON Web Key.');
    }
    return { __proto__: null, type, set, der: readJwk(jwk), info: null };
  }
  if (format === 'spki' || format === 'pkcs8') {
    const label = format === 'spki' ? 'SPKI' : 'PKCS8';
    const info = native.keyParse(format, data);
    if (info === null) throw domError('DataError', `Invalid ${label} input.`);
    if (info[2] !== 0) throw domError('DataError', `Invalid ${info[2]} trailing bytes after ${label} input.`);
    const type = format === 'spki' ? 'public' : 'private';
    const set = format === 'spki'
      ? validateUsages(name, 'import public', usages, allowed & (name === 'ECDH' ? 0 : publicKeyMask))
      : validateUsages(name, 'import private', usages, allowed & privateKeyMask);
    return { __proto__: null, type, set, der: info[1], info };
  }
  throw domError('NotSupportedError', `Unrecognized key import format "${format}".`);
}

const rsaJwkAlgorithms = {
  __proto__: null,
  RS1: 'SHA-1', RS256: 'SHA-256', RS384: 'SHA-384', RS512: 'SHA-512',
  PS1: 'SHA-1', PS256: 'SHA-256', PS384: 'SHA-384', PS512: 'SHA-512',
  'RSA-OAEP': 'SHA-1', 'RSA-OAEP-256': 'SHA-256', 'RSA-OAEP-384': 'SHA-384', 'RSA-OAEP-512': 'SHA-512',
};

function readRsaJwk(name, digest, jwk) {
  if (jwk.kty !== 'RSA') {
    throw domError('DataError', 'RSASSA-PKCS1-v1_5 "jwk" key import requires a JSON Web Key with Key Type '
      + `parameter "kty" ("${jwk.kty}") equal to "RSA".`);
  }
  if (jwk.alg !== undefined) {
    const jwkHash = rsaJwkAlgorithms[jwk.alg];
    if (jwkHash === undefined) {
      throw domError('NotSupportedError', `Unrecognized or unimplemented algorithm "${jwk.alg}" listed in `
        + 'JSON Web Key Algorithm parameter.');
    }
    if (jwkHash !== digest) {
      throw domError('DataError', `JSON Web Key Algorithm parameter "alg" ("${jwk.alg}") does not match `
        + `requested hash algorithm "${jwk.alg}".`);
    }
  }
  const n = jwkBytes(jwk.n, 'Invalid RSA key in JSON Web Key; missing or invalid Modulus parameter ("n").');
  const e = jwkBytes(jwk.e, 'Invalid RSA key in JSON Web Key; missing or invalid Exponent parameter ("e").');
  const parts = [n, e, undefined, undefined, undefined, undefined, undefined, undefined];
  if (jwk.d !== undefined) {
    parts[2] = jwkBytes(jwk.d,
      'Invalid RSA key in JSON Web Key; missing or invalid Private Exponent parameter ("d").');
    const present = (jwk.p !== undefined) + (jwk.q !== undefined) + (jwk.dp !== undefined)
      + (jwk.dq !== undefined) + (jwk.qi !== undefined);
    if (present === 5) {
      parts[3] = jwkBytes(jwk.p, 'Invalid RSA key in JSON Web Key; invalid First Prime Factor parameter ("p").');
      parts[4] = jwkBytes(jwk.q, 'Invalid RSA key in JSON Web Key; invalid Second Prime Factor parameter ("q").');
      parts[5] = jwkBytes(jwk.dp,
        'Invalid RSA key in JSON Web Key; invalid First Factor CRT Exponent parameter ("dp").');
      parts[6] = jwkBytes(jwk.dq,
        'Invalid RSA key in JSON Web Key; invalid Second Factor CRT Exponent parameter ("dq").');
      parts[7] = jwkBytes(jwk.qi,
        'Invalid RSA key in JSON Web Key; invalid First CRT Coefficient parameter ("qi").');
    } else if (present !== 0) {
      throw domError('DataError', 'Invalid RSA private key in JSON Web Key; if one Prime Factor or CRT '
        + 'Exponent/Coefficient parameter is present, then they must all be present ("p", "q", "dp", '
        + '"dq", "qi").');
    }
  }
  return keyFromJwkOrFail('RSA', '', parts, 'Invalid RSA key in JSON Web Key.');
}

// The public exponent's value if it fits in 32 bits, else -1.
function exponentValue(bytes) {
  let value = 0;
  for (let i = 0; i < byteLength(bytes); i++) {
    value = value * 256 + bytes[i];
    if (value > 0xffffffff) return -1;
  }
  return value;
}

function checkModulus(modulusLength) {
  if (modulusLength % 8 !== 0 || modulusLength < 256 || modulusLength > 16384) {
    throw domError('OperationError', 'The modulus length must be a multiple of 8 and between 256 and 16k, '
      + `but ${modulusLength} was requested.`);
  }
}

export function importRsa(name, format, data, algorithm, extractable, usages) {
  const hash = requireHash(algorithm.hash);
  const allowed = name === 'RSA-OAEP' ? oaepUsages : signUsages;
  const digest = lookupDigest(hash);
  const imported = importAsymmetric(name, format, data, extractable, usages, allowed,
    (jwk) => readRsaJwk(name, digest, jwk));
  let modulusLength;
  let publicExponent;
  if (imported.info !== null) {
    if (imported.info[0] !== 'RSA') throw domError('DataError', 'Input was not an RSA key.');
    modulusLength = imported.info[3];
    publicExponent = imported.info[4];
  } else {
    const details = native.keyParse(imported.type === 'private' ? 'pkcs8' : 'spki', imported.der);
    modulusLength = details[3];
    publicExponent = details[4];
  }
  checkModulus(modulusLength);
  const e = exponentValue(publicExponent);
  if (e === -1) {
    throw domError('OperationError',
      'The "publicExponent" must be either 3 or 65537, but got a number larger than 2^32.');
  }
  if (e !== 3 && e !== 17 && e !== 37 && e !== 65537) {
    throw domError('OperationError', `Imported RSA key has invalid publicExponent ${e}.`);
  }
  return createKey(imported.type, extractable, {
    __proto__: null, name, modulusLength, publicExponent, hash: digest,
  }, imported.set, imported.der);
}

const ecdsaJwkCurves = { __proto__: null, ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' };

function readEcJwk(name, curve, jwk) {
  if (jwk.kty !== 'EC') {
    throw domError('DataError', 'Elliptic curve "jwk" key import requires a JSON Web Key with Key Type '
      + `parameter "kty" ("${jwk.kty}") equal to "EC".`);
  }
  if (name === 'ECDSA' && jwk.alg !== undefined) {
    const algCurve = ecdsaJwkCurves[jwk.alg];
    if (algCurve === undefined) {
      throw domError('NotSupportedError', `Unrecognized or unimplemented algorithm "${jwk.alg}" listed in `
        + 'JSON Web Key Algorithm parameter.');
    }
    if (algCurve !== curve) {
      throw domError('DataError',
        `JSON Web Key Algorithm parameter "alg" ("${jwk.alg}") does not match requested curve.`);
    }
  }
  const x = jwkBytes(jwk.x, 'Invalid EC key in JSON Web Key; missing "x".');
  const y = jwkBytes(jwk.y, 'Invalid EC key in JSON Web Key; missing "y".');
  const d = jwk.d === undefined ? undefined : jwkBytes(jwk.d, 'Invalid EC key in JSON Web Key; missing "d".');
  const der = native.keyFromJwk('EC', curve, [x, y, d]);
  if (der === null) {
    throw domError('OperationError',
      'Invalid EC key; public key coordinates "x" and "y" are invalid: Point is not on curve..');
  }
  return der;
}

export function importEc(name, format, data, algorithm, extractable, usages) {
  const curve = lookupCurve(algorithm.namedCurve);
  let imported;
  if (format === 'raw') {
    const set = validateUsages(name, 'import public', usages, name === 'ECDSA' ? Usage.verify : 0);
    const der = native.keyFromRaw('EC', curve, data);
    if (der === null) {
      // As BoringSSL describes the two ways a point fails to decode.
      const n = byteLength(data);
      const width = n > 0 && data[0] === 4 ? 1 + 2 * coordinateBytes[curve] : 1 + coordinateBytes[curve];
      const form = n > 0 && (data[0] === 2 || data[0] === 3 || data[0] === 4) && n === width;
      throw domError('DataError', `Failed to import raw EC key data: ${form ? 'Point is not on curve'
        : 'Invalid point encoding'}..`);
    }
    imported = { __proto__: null, type: 'public', set, der, info: null };
  } else {
    imported = importAsymmetric(name, format, data, extractable, usages,
      name === 'ECDSA' ? signUsages : derivationMask, (jwk) => readEcJwk(name, curve, jwk));
    if (imported.info !== null) {
      if (imported.info[0] !== 'EC') {
        throw domError('DataError', name === 'ECDSA' ? 'Input was not an EC key.'
          : 'Input was not an EC public key nor a DH key.');
      }
      if (imported.info[3] !== curve) {
        throw domError('DataError', name === 'ECDSA'
          ? `"algorithm.namedCurve" "${algorithm.namedCurve}" does not match the curve specified by the input key data.`
          : `"algorithm.namedCurve" "${algorithm.namedCurve}", does not match the curve specified by the input key data.`);
      }
    }
  }
  return createKey(imported.type, extractable, { __proto__: null, name, namedCurve: curve }, imported.set,
    imported.der);
}

function okpRecord(name) {
  return name === 'NODE-ED25519' ? { __proto__: null, name, namedCurve: name } : { __proto__: null, name };
}

function checkNodeCurve(name, algorithm) {
  if (name !== 'NODE-ED25519') return;
  const { namedCurve } = algorithm;
  if (namedCurve === undefined) throw typeError('Missing field "namedCurve" in "algorithm".');
  if (namedCurve !== 'NODE-ED25519') {
    throw domError('NotSupportedError', `EDDSA curve "${namedCurve}" isn't supported.`);
  }
}

function readOkpJwk(kind, jwk) {
  if (jwk.kty !== 'OKP') {
    throw domError('DataError', `${kind} "jwk" key imports requires a JSON Web Key with Key Type parameter `
      + `"kty" ("${jwk.kty}") equal to "OKP".`);
  }
  if (jwk.crv === undefined) throw domError('DataError', `Missing field "crv" for ${kind} key.`);
  if (jwk.crv !== kind) {
    throw domError('NotSupportedError', `Only ${kind} is supported but "${jwk.crv}" was requested.`);
  }
  if (kind === 'Ed25519' && jwk.alg !== undefined && jwk.alg !== 'EdDSA') {
    throw domError('DataError',
      `JSON Web Key Algorithm parameter "alg" ("${jwk.alg}") does not match requested Ed25519 curve.`);
  }
  const x = jwkBytes(jwk.x,
    `Invalid ${jwk.crv} key in JSON WebKey; missing or invalid public key component ("x").`);
  if (byteLength(x) !== 32) throw domError('DataError', `Invalid length ${byteLength(x)} for public key`);
  let d;
  if (jwk.d !== undefined) {
    d = jwkBytes(jwk.d, `Invalid ${kind} key in JSON Web Key; missing or invalid private key component ("d").`);
    if (byteLength(d) !== 32) throw domError('DataError', `Invalid length ${byteLength(d)} for private key`);
  }
  return keyFromJwkOrFail(kind, '', [x, d], `Invalid ${kind} key in JSON Web Key.`);
}

export function importOkp(name, format, data, algorithm, extractable, usages) {
  checkNodeCurve(name, algorithm);
  const kind = name === 'X25519' ? 'X25519' : 'Ed25519';
  let imported;
  if (format === 'raw') {
    const set = validateUsages(name, 'import public', usages, kind === 'X25519' ? 0 : Usage.verify);
    if (byteLength(data) !== 32) {
      throw domError('DataError', `${kind} raw keys must be exactly 32-bytes (provided ${byteLength(data)}).`);
    }
    const der = native.keyFromRaw(kind, '', data);
    if (der === null) throw domError('DataError', `Failed to import raw public ${kind} key.`);
    imported = { __proto__: null, type: 'public', set, der, info: null };
  } else {
    imported = importAsymmetric(name, format, data, extractable, usages,
      kind === 'X25519' ? derivationMask : signUsages, (jwk) => readOkpJwk(kind, jwk));
    if (imported.info !== null && imported.info[0] !== kind) {
      throw domError('DataError', `Input was not an ${kind} key.`);
    }
  }
  return createKey(imported.type, extractable, okpRecord(name), imported.set, imported.der);
}

// --- Generation ---

function makePair(record, publicRecord, extractable, privateSet, publicSet, pair) {
  return {
    publicKey: createKey('public', true, publicRecord, publicSet, pair[1]),
    privateKey: createKey('private', extractable, record, privateSet, pair[0]),
  };
}

export function generateRsa(name, algorithm, extractable, usages) {
  const { publicExponent } = algorithm;
  if (publicExponent === undefined) throw typeError('Missing field "publicExponent" in "algorithm".');
  const hash = requireHash(algorithm.hash);
  const { modulusLength } = algorithm;
  if (modulusLength === undefined) throw typeError('Missing field "modulusLength" in "algorithm".');
  if (!(modulusLength > 0)) {
    throw domError('OperationError', `modulusLength must be greater than zero (requested ${modulusLength}).`);
  }
  const digest = lookupDigest(hash);
  const set = validateUsages(name, 'generate', usages, name === 'RSA-OAEP' ? oaepUsages : signUsages);
  checkModulus(modulusLength);
  const e = exponentValue(publicExponent);
  if (e === -1) {
    throw domError('OperationError',
      'The "publicExponent" must be either 3 or 65537, but got a number larger than 2^32.');
  }
  if (e !== 3 && e !== 65537) {
    throw domError('OperationError', `The "publicExponent" must be either 3 or 65537, but got ${e}.`);
  }
  if (modulusLength % 128 !== 0) {
    throw domError('OperationError', 'Can\'t generate key: RSA key size is required to be a multiple of 128');
  }
  const pair = native.keyGenerate('RSA', modulusLength, publicExponent);
  if (pair === null) {
    throw domError('OperationError', `Generating a ${modulusLength}-bit RSA key took too long.`);
  }
  const record = (exponent) => ({
    __proto__: null, name, modulusLength, publicExponent: exponent, hash: digest,
  });
  return makePair(record(copyBytes(publicExponent)), record(copyBytes(publicExponent)), extractable,
    set & privateKeyMask, set & publicKeyMask, pair);
}

export function generateEc(name, algorithm, extractable, usages) {
  const set = validateUsages(name, 'generate', usages, name === 'ECDSA' ? signUsages : derivationMask);
  const curve = lookupCurve(algorithm.namedCurve);
  const record = { __proto__: null, name, namedCurve: curve };
  const pair = native.keyGenerate('EC', curve);
  return name === 'ECDSA'
    ? makePair(record, record, extractable, set & privateKeyMask, set & publicKeyMask, pair)
    : makePair(record, record, extractable, set, 0, pair);
}

export function generateOkp(name, algorithm, extractable, usages) {
  const set = validateUsages(name, 'generate', usages, name === 'X25519' ? derivationMask : signUsages);
  checkNodeCurve(name, algorithm);
  const pair = native.keyGenerate(name === 'X25519' ? 'X25519' : 'Ed25519');
  return makePair(okpRecord(name), okpRecord(name), extractable, set & privateKeyMask,
    set & publicKeyMask, pair);
}

// --- Export ---

function rsaJwkAlg(record) {
  const { hash, name } = record;
  if (!startsWith(hash, 'SHA')) {
    throw domError('NotSupportedError', `JWK export not supported for hash algorithm "${hash}".`);
  }
  const bits = stringSliceFrom(hash, 4);
  if (name === 'RSA-OAEP') return hash === 'SHA-1' ? 'RSA-OAEP' : `RSA-OAEP-${bits}`;
  return `${name === 'RSA-PSS' ? 'PS' : 'RS'}${bits}`;
}

export function exportAsymmetric(slots, format) {
  const { name } = slots.algorithm;
  const isPrivate = slots.type === 'private';
  if (format === 'pkcs8') {
    if (!isPrivate) {
      throw domError('InvalidAccessError', `Asymmetric pkcs8 export requires private key (not "${slots.type}").`);
    }
    return toArrayBuffer(slots.material);
  }
  if (format === 'spki') {
    if (isPrivate) {
      throw domError('InvalidAccessError', `Asymmetric spki export requires public key (not "${slots.type}").`);
    }
    return toArrayBuffer(slots.material);
  }
  const isRsa = slots.algorithm.modulusLength !== undefined;
  const isEc = name === 'ECDSA' || name === 'ECDH';
  if (format === 'jwk') {
    const fields = { __proto__: null, key_ops: usageList(slots.usages), ext: true };
    const alg = isRsa ? rsaJwkAlg(slots.algorithm) : undefined;
    const parts = native.keyExport(slots.material, isPrivate, 'jwk');
    const encoded = [];
    for (let i = 0; i < parts.length; i++) append(encoded, base64UrlEncode(parts[i]));
    if (isRsa) {
      fields.kty = 'RSA';
      fields.alg = alg;
      fields.n = encoded[0];
      fields.e = encoded[1];
      if (isPrivate) {
        fields.d = encoded[2];
        fields.p = encoded[3];
        fields.q = encoded[4];
        fields.dp = encoded[5];
        fields.dq = encoded[6];
        fields.qi = encoded[7];
      }
    } else if (isEc) {
      fields.kty = 'EC';
      fields.crv = slots.algorithm.namedCurve;
      fields.x = encoded[0];
      fields.y = encoded[1];
      if (isPrivate) fields.d = encoded[2];
    } else {
      fields.kty = 'OKP';
      fields.crv = name === 'X25519' ? 'X25519' : 'Ed25519';
      fields.x = encoded[0];
      if (name !== 'X25519') fields.alg = 'EdDSA';
      if (isPrivate) fields.d = encoded[1];
    }
    return makeJsonWebKey(fields);
  }
  if (format === 'raw') {
    if (isRsa) throw domError('InvalidAccessError', `Cannot export "${name}" in "raw" format.`);
    if (isPrivate) {
      throw domError('InvalidAccessError', isEc
        ? 'Raw export of elliptic curve keys is only allowed for public keys.'
        : `Raw export of ${name} keys is only allowed for public keys.`);
    }
    return native.keyExport(slots.material, false, 'raw');
  }
  throw domError('InvalidAccessError', `Cannot export "${name}" in "${format}" format.`);
}

// --- Operations ---

function checkSigningKey(slots, signing) {
  if (signing && slots.type !== 'private') {
    throw domError('InvalidAccessError', 'Asymmetric signing requires a private key.');
  }
  if (!signing && slots.type !== 'public') {
    throw domError('InvalidAccessError', 'Asymmetric verification requires a public key.');
  }
}

const ecdsaHashMessage = 'Missing "hash" in AlgorithmIdentifier. (ECDSA requires that the hash algorithm '
  + 'be specified at call time rather than on the key. This differs from other WebCrypto algorithms for '
  + 'historical reasons.)';

// The operation's parameters for native.sign/verify: [algorithm, digest, saltLength].
function signatureParams(slots, algorithm, signing) {
  const { name } = slots.algorithm;
  if (name === 'ECDH' || name === 'X25519') {
    throw domError('NotSupportedError', `The sign and verify operations are not implemented for "${name}".`);
  }
  checkSigningKey(slots, signing);
  if (name === 'Ed25519' || name === 'NODE-ED25519') return ['Ed25519', '', 0];
  if (name === 'ECDSA') {
    if (algorithm.hash === undefined) throw typeError(ecdsaHashMessage);
    return ['ECDSA', lookupDigest(algorithm.hash), 0];
  }
  const digest = slots.algorithm.hash;
  const modulusBytes = ceil(slots.algorithm.modulusLength / 8);
  if (name === 'RSASSA-PKCS1-v1_5') {
    if (signing && digestSize[digest] + 32 > modulusBytes) {
      throw domError('OperationError', 'key too small for signing with given digest, need at least '
        + `${8 * (digestSize[digest] + 32)}bits.`);
    }
    return [name, digest, 0];
  }
  const salt = algorithm.saltLength;
  if (signing) {
    if (salt === undefined) {
      throw domError('DataError', 'Failed to provide salt for RSA-PSS key operation which requires a salt');
    }
    if (salt < 0) {
      throw domError('DataError', `SaltLength for RSA-PSS must be non-negative (provided ${salt}).`);
    }
    if (digestSize[digest] + 2 > modulusBytes) {
      throw domError('OperationError', 'key too small for signing with given digest');
    }
    if (salt > modulusBytes - digestSize[digest] - 2) {
      throw domError('OperationError', 'key too small for signing with given digest and salt length');
    }
  } else {
    if (salt === undefined) {
      throw typeError('Failed to provide salt for RSA-PSS key operation which requires a salt');
    }
    if (salt < 0) {
      throw domError('DataError', `SaltLength for RSA-PSS must be non-negative (provided ${salt}).`);
    }
  }
  return [name, digest, salt];
}

export function signAsymmetric(slots, algorithm, data) {
  const params = signatureParams(slots, algorithm, true);
  return native.sign(params[0], slots.material, params[1], params[2], data);
}

export function verifyAsymmetric(slots, algorithm, signature, data) {
  const params = signatureParams(slots, algorithm, false);
  if (params[0] === 'Ed25519' && byteLength(signature) !== 64) {
    throw domError('OperationError', `Invalid ${slots.algorithm.name} signature length ${byteLength(signature)}`);
  }
  // A salt longer than the key allows can never verify.
  if (params[0] === 'RSA-PSS' && params[2] > ceil(slots.algorithm.modulusLength / 8)) return false;
  return native.verify(params[0], slots.material, params[1], params[2], signature, data);
}

export function encryptOaep(slots, algorithm, data, encrypt) {
  if (encrypt && slots.type !== 'public') {
    throw domError('InvalidAccessError',
      `Encryption/key wrapping only works with public keys, not "${slots.type}".`);
  }
  if (!encrypt && slots.type !== 'private') {
    throw domError('InvalidAccessError',
      `Decryption/key unwrapping only works with private keys, not "${slots.type}".`);
  }
  const result = native.rsaOaep(encrypt, slots.material, slots.algorithm.hash, algorithm.label, data);
  if (result === null) throw domError('OperationError', 'RSA-OAEP failed encrypt/decrypt.');
  return result;
}

// Which shape of `algorithm` dictionary a key has, as workerd tells them apart.
function algorithmShape(record) {
  if (record.name === 'HMAC') return 'hmac';
  if (record.modulusLength !== undefined) return 'rsa';
  if (record.namedCurve !== undefined) return 'elliptic';
  if (record.length !== undefined) return 'aes';
  return 'plain';
}

export function deriveBitsAgreement(slots, algorithm, length) {
  const { name } = slots.algorithm;
  if (slots.type !== 'private') {
    throw domError('InvalidAccessError',
      `The deriveBits operation is only valid for a private key, not "${slots.type}".`);
  }
  const peer = algorithm.public;
  if (peer === undefined) throw typeError('Missing field "public" in "derivedKeyParams".');
  if (peer.type !== 'public') {
    throw domError('InvalidAccessError', `The provided key has type "${peer.type}", not "public"`);
  }
  if (algorithmShape(slots.algorithm) !== algorithmShape(peer.algorithm)) {
    throw domError('InvalidAccessError', `Base ${name} private key cannot be used to derive a key from a `
      + `peer ${peer.algorithm.name} public key`);
  }
  if (name !== peer.algorithm.name) {
    throw domError('InvalidAccessError', `Private key for derivation is using "${name}" while public key `
      + `is using "${peer.algorithm.name}".`);
  }
  if (name === 'ECDH' && slots.algorithm.namedCurve !== peer.algorithm.namedCurve) {
    throw domError('InvalidAccessError', `Private key for derivation is using curve `
      + `"${slots.algorithm.namedCurve}" while public key is using "${peer.algorithm.namedCurve}".`);
  }
  const secret = native.deriveSharedSecret(slots.material, peer.material);
  if (secret === null) {
    throw domError('OperationError', name === 'ECDH' ? 'Failed to generate shared ECDH secret.'
      : 'Failed to derive EDDH key: public key routines INVALID_PEER_KEY.');
  }
  const bytes = new Uint8ArrayCtor(secret);
  const available = byteLength(bytes) * 8;
  const bits = length === null ? available : length;
  if (bits > available) {
    throw domError('OperationError', `Derived key length (${bits} bits) is too long (should be at most `
      + `${available} bits).`);
  }
  const out = new Uint8ArrayCtor(ceil(bits / 8));
  for (let i = 0; i < byteLength(out); i++) out[i] = bytes[i];
  const extra = byteLength(out) * 8 - bits;
  if (extra > 0) out[byteLength(out) - 1] &= (0xff << extra) & 0xff;
  return toArrayBuffer(out);
}
