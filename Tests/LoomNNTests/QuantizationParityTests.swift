import Foundation
import LoomCore
import LoomIO
import LoomNN
import XCTest

/// bitsandbytes' NF4 / FP4 (block 64, with and without double quantization), int8 vector-wise and 8-bit
/// block-wise quantization against bitsandbytes 0.50 on the same tensors
/// (scripts/fixtures/make_quant_fixtures.py): codes and absmax bit for bit, dequantized weights exactly.
final class QuantizationParityTests: XCTestCase {
  static let file: SafeTensorsFile = {
    let url = Bundle.module.url(forResource: "bnb_quant", withExtension: "safetensors", subdirectory: "Fixtures")!
    return try! SafeTensorsFile(path: url.path)
  }()

  func load(_ key: String) -> Tensor { try! Self.file.tensor(key) }
  func bytes(_ t: Tensor) -> [UInt8] { t.contiguous().toArray(UInt8.self) }
  func floats(_ t: Tensor) -> [Float] { t.contiguous().toArray(Float.self) }

  func test4bitCodesAndAbsmaxMatchBitsandbytes() throws {
    for type in QuantType4bit.allCases {
      let q = try Quantization.quantize(load("weight"), as: .fourBit(type, blockSize: 64, doubleQuant: false))
      XCTAssertEqual(q.codes.shape, [32, 128])
      XCTAssertEqual(bytes(q.codes), bytes(load("\(type).packed")), "\(type) packed codes")
      XCTAssertEqual(floats(q.absmax), floats(load("\(type).absmax")), "\(type) absmax")
      XCTAssertEqual(floats(Quantization.dequantize(q)), floats(load("\(type).dequant")), "\(type) dequantized")
    }
  }

  func testDoubleQuantizationMatchesBitsandbytes() throws {
    for type in QuantType4bit.allCases {
      let q = try Quantization.quantize(load("weight"), as: .fourBit(type, blockSize: 64, doubleQuant: true))
      XCTAssertEqual(bytes(q.codes), bytes(load("\(type)_dq.packed")), "\(type) packed codes")
      XCTAssertEqual(q.offset, floats(load("\(type)_dq.offset"))[0], "\(type) offset")
      XCTAssertEqual(bytes(q.absmax), bytes(load("\(type)_dq.absmax_q")), "\(type) absmax codes")
      XCTAssertEqual(floats(q.nestedAbsmax!), floats(load("\(type)_dq.nested_absmax")), "\(type) nested absmax")
      XCTAssertEqual(floats(Quantization.dequantize(q)), floats(load("\(type)_dq.dequant")), "\(type) dequantized")
      // Double quantization stores the absmax in a quarter of the bytes.
      let plain = try Quantization.quantize(load("weight"), as: .fourBit(type, blockSize: 64, doubleQuant: false))
      XCTAssertEqual(plain.byteCount - q.byteCount, 128 * 3 - 4)
    }
  }

  func testInt8MatchesBitsandbytes() throws {
    let q = try Quantization.quantize(load("weight"), as: .int8)
    XCTAssertEqual(bytes(q.codes), bytes(load("int8.codes")))
    XCTAssertEqual(floats(q.absmax), floats(load("int8.scb")))
    XCTAssertEqual(floats(Quantization.dequantize(q)), floats(load("int8.dequant")))
  }

  func testBlockwiseMatchesBitsandbytes() {
    let (codes, absmax) = Quantization.quantizeBlockwise(load("blockwise.input"), blockSize: 256)
    XCTAssertEqual(bytes(codes), bytes(load("blockwise.codes")))
    XCTAssertEqual(floats(absmax), floats(load("blockwise.absmax")))
    let back = Quantization.dequantizeBlockwise(codes: codes, absmax: absmax, blockSize: 256)
    XCTAssertEqual(floats(back), floats(load("blockwise.dequant")))
  }

  func testWidthsTheFormatCannotTileAreRejected() {
    XCTAssertThrowsError(
      try Quantization.quantize(Tensor.zeros([4, 96]), as: .fourBit(.nf4, blockSize: 64, doubleQuant: false))
    ) { error in
      XCTAssertTrue("\(error)".contains("in_features 96"), "\(error)")
      XCTAssertTrue("\(error)".contains("multiple of 64"), "\(error)")
    }
    XCTAssertThrowsError(try Quantization.quantize(Tensor.zeros([4, 40]), as: .int8)) { error in
      XCTAssertTrue("\(error)".contains("multiple of 16"), "\(error)")
    }
  }
}
