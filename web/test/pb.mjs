// pb.mjs — reads ONNX TensorProto files (the reference test data's input_K.pb / output_K.pb) into
// { name, type, dims, data } with data a typed array, for the tests and benchmarks (Node.js and browser pages).

const TYPES = {
  1: ['float32', Float32Array],
  2: ['uint8', Uint8Array],
  3: ['int8', Int8Array],
  4: ['uint16', Uint16Array],
  5: ['int16', Int16Array],
  6: ['int32', Int32Array],
  7: ['int64', BigInt64Array],
  9: ['bool', Uint8Array],
  10: ['float16', Uint16Array],
  11: ['float64', Float64Array],
  12: ['uint32', Uint32Array],
  13: ['uint64', BigUint64Array],
};

export function parseTensorProto(buf) {
  let pos = 0;
  const varint = () => {
    let v = 0n, shift = 0n, b;
    do {
      b = buf[pos++];
      v |= BigInt(b & 0x7f) << shift;
      shift += 7n;
    } while (b & 0x80);
    return v;
  };
  const dims = [], typed = { floats: [], i32: [], i64: [], dbl: [] };
  let dtype = 0, name = '', raw = null;
  while (pos < buf.length) {
    const key = Number(varint()), field = key >> 3, wire = key & 7;
    if (wire === 2) {
      const len = Number(varint()), body = buf.subarray(pos, pos + len);
      pos += len;
      if (field === 9) raw = body;
      else if (field === 8) name = new TextDecoder().decode(body);
      else if (field === 1 || field === 5 || field === 7) {
        // packed varints: dims, int32_data, int64_data
        let p = 0;
        while (p < body.length) {
          let v = 0n, s = 0n, b;
          do {
            b = body[p++];
            v |= BigInt(b & 0x7f) << s;
            s += 7n;
          } while (b & 0x80);
          (field === 1 ? dims : field === 5 ? typed.i32 : typed.i64).push(BigInt.asIntN(64, v));
        }
      } else if (field === 4) typed.floats.push(...new Float32Array(body.slice().buffer));
      else if (field === 10) typed.dbl.push(...new Float64Array(body.slice().buffer));
    } else if (wire === 0) {
      const v = BigInt.asIntN(64, varint());
      if (field === 1) dims.push(v);
      else if (field === 2) dtype = Number(v);
      else if (field === 5) typed.i32.push(v);
      else if (field === 7) typed.i64.push(v);
    } else if (wire === 5) {
      if (field === 4) typed.floats.push(new DataView(buf.buffer, buf.byteOffset + pos, 4).getFloat32(0, true));
      pos += 4;
    } else if (wire === 1) pos += 8;
    else throw new Error(`TensorProto: unsupported wire type ${wire}`);
  }
  const t = TYPES[dtype];
  if (!t) throw new Error(`TensorProto: unsupported data_type ${dtype}`);
  const [type, Ctor] = t;
  let data;
  if (raw) data = new Ctor(raw.slice().buffer);
  else if (type === 'float32') data = Float32Array.from(typed.floats);
  else if (type === 'float64') data = Float64Array.from(typed.dbl);
  else if (type === 'int64') data = BigInt64Array.from(typed.i64);
  else if (type === 'uint64') data = BigUint64Array.from(typed.i64.map((v) => BigInt.asUintN(64, v)));
  else data = Ctor.from(typed.i32, Number);
  return { name, type, dims: dims.map(Number), data };
}
