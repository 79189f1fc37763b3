// node:path: the POSIX path functions (workerd's node:path is POSIX too), from the
// `path-browserify` package, Node's own path.posix.
import pathPackage from 'path-browserify';

const posix = { ...pathPackage };
posix.posix = posix;
// A POSIX path is its own namespaced path.
posix.toNamespacedPath = (path) => path;

export default posix;
