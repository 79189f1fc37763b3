// node:path: the POSIX path functions (workerd's node:path is POSIX too), from the
// `path-browserify` package, Node's own path.posix.
import pathPackage from 'path-browserify';

const posix = { ...pathPackage };
posix.posix = posix;

export default posix;
