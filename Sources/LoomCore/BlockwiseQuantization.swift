import Foundation

/// bitsandbytes' dynamic 8-bit data type (`create_dynamic_map`, Dettmers 2016): 256 ascending
/// values in [-1, 1] whose exponent bits shrink as the fraction grows, so small magnitudes keep
/// relative precision. Signed for Adam's first moment, unsigned for the second.
public enum DynamicQuantizationMap {
  /// The map with bnb's defaults (7 exponent bits, 8 bits in all). Values are computed in double
  /// and rounded once (torch's vectorised float32 linspace inside bnb differs by a few ulp in
  /// about 60 entries).
  public static func create(signed: Bool) -> [Float] {
    let exponentBits = 7, nonSignBits = 7
    var data: [Double] = []
    func means(_ items: Int) -> [Double] {
      let b = (0..<items).map { 0.1 + 0.9 * Double($0) / Double(items - 1) }
      return (0..<(items - 1)).map { (b[$0] + b[$0 + 1]) / 2 }
    }
    for i in 0..<exponentBits {
      let items = signed ? (1 << (i + nonSignBits - exponentBits)) + 1 : (1 << (i + nonSignBits - exponentBits + 1)) + 1
      let scale = Foundation.pow(10, Double(-(exponentBits - 1) + i))
      let m = means(items)
      data += m.map { scale * $0 }
      if signed { data += m.map { -scale * $0 } }
    }
    data += [0, 1]
    data += Array(repeating: 0, count: 256 - data.count)
    return data.sorted().map { Float($0) }
  }

  /// The two maps as float32 tensors [256], built once.
  public static let signed = Tensor(create(signed: true), shape: [256])
  public static let unsigned = Tensor(create(signed: false), shape: [256])
}

/// One parameter's 8-bit Adam state (bnb's `state1`/`state2` uint8 codes with `absmax1`/`absmax2`
/// float32 per block, `qmap1`/`qmap2` the signed/unsigned dynamic maps).
public struct QuantizedAdamState {
  public let state1, state2, absmax1, absmax2: Tensor
  public let qmap1, qmap2: Tensor
  public let blockSize: Int

  /// Zero moments for `count` elements on `device`.
  public init(count: Int, blockSize: Int, device: Device) {
    let blocks = (count + blockSize - 1) / blockSize
    state1 = Tensor.zeros([count], dtype: .uint8, device: device)
    state2 = Tensor.zeros([count], dtype: .uint8, device: device)
    absmax1 = Tensor.zeros([blocks], device: device)
    absmax2 = Tensor.zeros([blocks], device: device)
    qmap1 = DynamicQuantizationMap.signed.to(device: device)
    qmap2 = DynamicQuantizationMap.unsigned.to(device: device)
    self.blockSize = blockSize
  }

  /// Saved tensors, checked against `count` and `blockSize`.
  public init(state1: Tensor, state2: Tensor, absmax1: Tensor, absmax2: Tensor, count: Int, blockSize: Int, device: Device) throws {
    let blocks = (count + blockSize - 1) / blockSize
    for (name, t, dtype, n) in [
      ("state1", state1, DType.uint8, count), ("state2", state2, .uint8, count),
      ("absmax1", absmax1, .float32, blocks), ("absmax2", absmax2, .float32, blocks),
    ] where t.dtype != dtype || t.count != n {
      throw LoomError(
        "8-bit optimizer state: \(name) has \(t.count) \(t.dtype) values, expected \(n) \(dtype) "
          + "(\(count) elements in blocks of \(blockSize)); was it saved by another optimizer or block size?")
    }
    self.state1 = state1.reshape([count]).to(device: device).contiguousCopy()
    self.state2 = state2.reshape([count]).to(device: device).contiguousCopy()
    self.absmax1 = absmax1.reshape([blocks]).to(device: device).contiguousCopy()
    self.absmax2 = absmax2.reshape([blocks]).to(device: device).contiguousCopy()
    qmap1 = DynamicQuantizationMap.signed.to(device: device)
    qmap2 = DynamicQuantizationMap.unsigned.to(device: device)
    self.blockSize = blockSize
  }

  /// Bytes of the moments: codes and absmax (the maps are shared by every parameter).
  public var momentByteCount: Int { [state1, state2, absmax1, absmax2].reduce(0) { $0 + $1.count * $1.dtype.byteSize } }
}
