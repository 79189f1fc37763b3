// node:string_decoder: the `string_decoder` package (Node's own StringDecoder, on node:buffer's
// Buffer), which decodes multi-byte characters split across chunks.
import decoderPackage from 'string_decoder';

export default { StringDecoder: decoderPackage.StringDecoder };
