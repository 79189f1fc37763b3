#include "net/web_socket_frame.h"

namespace dorm::net {

size_t EncodeServerFrameHeader(bool text, uint64_t payload_size, uint8_t* out) {
  out[0] = static_cast<uint8_t>(0x80 | (text ? 0x1 : 0x2));  // FIN and the opcode
  // The second byte's top bit is MASK, which a server leaves clear.
  if (payload_size < 126) {
    out[1] = static_cast<uint8_t>(payload_size);
    return 2;
  }
  if (payload_size <= 0xFFFF) {
    out[1] = 126;
    out[2] = static_cast<uint8_t>(payload_size >> 8);
    out[3] = static_cast<uint8_t>(payload_size);
    return 4;
  }
  out[1] = 127;
  for (int i = 0; i < 8; ++i) out[2 + i] = static_cast<uint8_t>(payload_size >> (56 - 8 * i));
  return 10;
}

std::string EncodeServerCloseFrame(int code, std::string_view reason) {
  std::string frame;
  frame.push_back(static_cast<char>(0x88));  // FIN and the Close opcode
  if (code == 1005) {
    frame.push_back(0);
    return frame;
  }
  if (reason.size() > kMaxCloseReasonBytes) {
    // Cut before a character rather than inside one: the reason must stay valid UTF-8.
    size_t cut = kMaxCloseReasonBytes;
    while (cut > 0 && (static_cast<uint8_t>(reason[cut]) & 0xC0) == 0x80) --cut;
    reason = reason.substr(0, cut);
  }
  frame.push_back(static_cast<char>(2 + reason.size()));
  frame.push_back(static_cast<char>((code >> 8) & 0xFF));
  frame.push_back(static_cast<char>(code & 0xFF));
  frame.append(reason);
  return frame;
}

bool AnswerClientPing(std::string_view bytes, std::string* pong) {
  // 0x89: FIN, no extension bits, the Ping opcode. A client's frame must be masked.
  if (bytes.size() < 6 || static_cast<uint8_t>(bytes[0]) != 0x89) return false;
  const uint8_t second = static_cast<uint8_t>(bytes[1]);
  const size_t length = second & 0x7f;
  if ((second & 0x80) == 0 || length > 125 || bytes.size() != 6 + length) return false;
  std::string_view mask = bytes.substr(2, 4);
  pong->resize(2 + length);
  (*pong)[0] = static_cast<char>(0x8A);  // FIN and the Pong opcode; unmasked
  (*pong)[1] = static_cast<char>(length);
  for (size_t i = 0; i < length; ++i)
    (*pong)[2 + i] = static_cast<char>(bytes[6 + i] ^ mask[i % 4]);
  return true;
}

bool EndsInsideUtf8Character(std::string_view message) {
  // Back over at most 3 continuation bytes to the byte that started the last character.
  size_t continuation = 0;
  size_t i = message.size();
  while (i > 0 && continuation < 3 && (static_cast<uint8_t>(message[i - 1]) & 0xC0) == 0x80) {
    --i;
    ++continuation;
  }
  if (i == 0) return false;  // only continuation bytes: Beast refused any such message
  uint8_t lead = static_cast<uint8_t>(message[i - 1]);
  size_t needed = (lead & 0xE0) == 0xC0   ? 1
                  : (lead & 0xF0) == 0xE0 ? 2
                  : (lead & 0xF8) == 0xF0 ? 3
                                          : 0;
  return continuation < needed;
}

}  // namespace dorm::net
