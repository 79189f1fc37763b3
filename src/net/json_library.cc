// Boost.JSON is used header-only; its implementation is compiled once, here, in the lowest layer
// that parses JSON (the network layer's token verification), so every layer above links it.
#include <boost/json/src.hpp>
