// The compiled parts of Boost.Asio and Boost.Beast (their non-template functions: the event loop,
// socket calls, error categories, the HTTP parser's core, SHA-1 and base64 for the WebSocket
// handshake, ...), built once, here. BOOST_ASIO_SEPARATE_COMPILATION and
// BOOST_BEAST_SEPARATE_COMPILATION (CMakeLists.txt, for every target) make the headers declare
// them only, rather than define them inline in every file that includes Asio or Beast, each of
// which then compiled them again.
//
// A library of its own, dorm_boost, rather than a file of a layer: the runtime is the lowest layer
// that uses Asio (its event loop and timers) but not Beast, and the two belong in one place. Every
// layer from the runtime up links it. Asio's SSL support is compiled here too (for outbound
// WebSockets over TLS, outbound/web_socket_client.cc), so dorm_boost links OpenSSL.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
