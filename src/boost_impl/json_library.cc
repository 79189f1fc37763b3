// Boost.JSON is used header-only; its implementation is compiled once, here, with Asio's and
// Beast's in dorm_boost, below every layer that parses or writes JSON (the runtime's storage
// commands as much as the network layer's token verification).
#include <boost/json/src.hpp>
