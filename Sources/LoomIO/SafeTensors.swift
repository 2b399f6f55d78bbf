import Foundation
import LoomCore

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// What is wrong with a safetensors file: always names the file, and the tensor when
/// one is at fault.
public struct SafeTensorsError: Error, CustomStringConvertible, Equatable {
  public let path: String
  public let tensor: String?
  public let reason: String
  public var description: String {
    if let tensor { return "\(path): tensor '\(tensor)': \(reason)" }
    return "\(path): \(reason)"
  }
}

/// A safetensors file opened by memory-mapping it. The header is fully validated on
/// open; tensors are views of the mapping (zero-copy) when their offset is aligned to
/// the element size, else copied. The mapping is private copy-on-write, so writing to
/// a loaded tensor never touches the file.
public final class SafeTensorsFile: FileMappingOwner, @unchecked Sendable {
  public struct Entry: Equatable, Sendable {
    public let name: String
    /// The file's dtype name ("F32", "BF16", …).
    public let fileDType: String
    public let dtype: DType
    public let shape: [Int]
    /// Byte range within the data section.
    public let range: Range<Int>
  }

  public let path: String
  public let metadata: [String: String]
  /// Entries in data order.
  public let entries: [Entry]
  private let byName: [String: Int]
  private let base: UnsafeMutableRawPointer
  private let mappedLength: Int
  private let dataStart: Int

  static let dtypes: [String: DType] = [
    "F32": .float32, "F64": .float64, "F16": .float16, "BF16": .bfloat16, "I64": .int64, "I32": .int32,
    "U8": .uint8, "BOOL": .bool,
  ]
  static let knownButUnsupported: Set<String> = ["I8", "I16", "U16", "U32", "U64", "F8_E4M3", "F8_E5M2"]

  /// Hugging Face's limit on the JSON header.
  public static let maxHeaderLength = 100_000_000

  /// A JSON integer (not a bool, not a fraction, in Int's range).
  static func integer(_ value: Any) -> Int? {
    guard let n = value as? NSNumber, String(cString: n.objCType) != "c" else { return nil }
    let d = n.doubleValue
    guard d.isFinite, d == d.rounded(), abs(d) < 9.0e15 else { return nil }
    return Int(d)
  }

  public init(path: String) throws {
    self.path = path
    func fail(_ reason: String, _ tensor: String? = nil) -> SafeTensorsError {
      SafeTensorsError(path: path, tensor: tensor, reason: reason)
    }
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw fail("cannot open: \(FileInput.reason(errno))") }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw fail("cannot open: \(FileInput.reason(errno))") }
    guard (st.st_mode & S_IFMT) != S_IFDIR else { throw fail("cannot open: is a directory, not a file") }
    let size = Int(st.st_size)
    guard size >= 8 else { throw fail("file is \(size) bytes, too short for a safetensors header") }
    guard let mapped = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
      throw fail("cannot memory-map: \(String(cString: strerror(errno)))")
    }
    base = mapped
    mappedLength = size
    do {
      // Compared as UInt64 first: a length of 2^63 or more must not trap converting to Int.
      let rawLength = UInt64(littleEndian: mapped.loadUnaligned(as: UInt64.self))
      guard rawLength > 0, rawLength <= UInt64(Self.maxHeaderLength), rawLength <= UInt64(size - 8) else {
        throw fail(
          "byte 0: header length \(rawLength) does not fit the file (\(size) bytes, header at most \(Self.maxHeaderLength)); the file is truncated or not safetensors")
      }
      let headerLength = Int(rawLength)
      dataStart = 8 + headerLength
      let dataLength = size - dataStart
      let headerBytes = UnsafeRawBufferPointer(start: mapped + 8, count: headerLength)
      guard headerBytes.first == UInt8(ascii: "{") else {
        throw fail("byte 8: the header must start with '{' (a JSON object)")
      }
      let headerData = Data(headerBytes)
      guard let json = try? JSONSerialization.jsonObject(with: headerData), let header = json as? [String: Any] else {
        throw fail("header (bytes 8..<\(dataStart)) is not a JSON object")
      }
      if let duplicate = JSONKeys.firstDuplicateTopLevelKey(headerBytes) {
        throw fail("the header lists this tensor twice", duplicate)
      }
      var meta: [String: String] = [:]
      var parsed: [Entry] = []
      for (name, value) in header {
        if name == "__metadata__" {
          guard let m = value as? [String: Any] else { throw fail("__metadata__ is not an object of strings") }
          for (k, v) in m {
            guard let s = v as? String else { throw fail("__metadata__ value for '\(k)' is not a string") }
            meta[k] = s
          }
          continue
        }
        guard let info = value as? [String: Any] else { throw fail("entry is not an object", name) }
        guard let dtypeName = info["dtype"] as? String else { throw fail("missing or non-string dtype", name) }
        guard let dtype = Self.dtypes[dtypeName] else {
          if Self.knownButUnsupported.contains(dtypeName) {
            throw fail("dtype \(dtypeName) is not supported by Loom (supported: F32, F64, F16, BF16, I64, I32, U8, BOOL)", name)
          }
          throw fail("unknown dtype '\(dtypeName)'", name)
        }
        guard let shapeAny = info["shape"] as? [Any] else { throw fail("missing or invalid shape (expected a list of sizes)", name) }
        var shape: [Int] = []
        var elements = 1
        for d in shapeAny {
          guard let n = Self.integer(d), n >= 0 else {
            throw fail("shape \(shapeAny) has an invalid dimension (expected integers >= 0)", name)
          }
          let (product, overflow) = elements.multipliedReportingOverflow(by: n)
          guard !overflow, product <= dataLength else {
            throw fail("shape \(shapeAny) has more elements than the \(dataLength)-byte data section can hold", name)
          }
          shape.append(n)
          elements = product
        }
        guard let offsets = info["data_offsets"] as? [Any], offsets.count == 2,
          let begin = Self.integer(offsets[0]), let end = Self.integer(offsets[1]), begin >= 0, end >= begin
        else { throw fail("data_offsets must be [begin, end] with 0 <= begin <= end", name) }
        guard end <= dataLength else {
          throw fail("data_offsets [\(begin), \(end)] run past the end of the data section (\(dataLength) bytes); the file is truncated", name)
        }
        // elements <= dataLength and byteSize <= 8, so this cannot overflow.
        let expected = elements * dtype.byteSize
        guard end - begin == expected else {
          throw fail("data_offsets [\(begin), \(end)] hold \(end - begin) bytes but shape \(shape) of \(dtypeName) needs \(expected)", name)
        }
        parsed.append(Entry(name: name, fileDType: dtypeName, dtype: dtype, shape: shape, range: begin..<end))
      }
      parsed.sort { ($0.range.lowerBound, $0.range.upperBound, $0.name) < ($1.range.lowerBound, $1.range.upperBound, $1.name) }
      // Tensors must tile the data section exactly: no overlaps, no gaps.
      var cursor = 0
      for e in parsed {
        if e.range.lowerBound < cursor {
          throw fail("data_offsets [\(e.range.lowerBound), \(e.range.upperBound)] overlap the previous tensor (which ends at \(cursor))", e.name)
        }
        if e.range.lowerBound > cursor {
          throw fail("data_offsets leave a gap of \(e.range.lowerBound - cursor) bytes before this tensor", e.name)
        }
        cursor = e.range.upperBound
      }
      guard cursor == size - dataStart else {
        throw fail("the tensors cover \(cursor) bytes but the data section has \(size - dataStart)")
      }
      metadata = meta
      entries = parsed
      var index: [String: Int] = [:]
      for (i, e) in parsed.enumerated() { index[e.name] = i }
      byName = index
    } catch {
      munmap(mapped, size)
      throw error
    }
  }

  deinit { munmap(base, mappedLength) }

  public var names: [String] { entries.map(\.name) }

  public func entry(_ name: String) throws -> Entry {
    guard let i = byName[name] else {
      throw SafeTensorsError(path: path, tensor: name, reason: "no such tensor (the file has \(entries.count): \(names.prefix(8).joined(separator: ", "))\(entries.count > 8 ? ", …" : ""))")
    }
    return entries[i]
  }

  /// Page-aligned inward, so neighbouring tensors' pages stay; MADV_DONTNEED on the private
  /// mapping drops the pages (clean ones are read from the file again when touched).
  public func discardResidentPages(_ bytes: UnsafeRawBufferPointer) {
    guard let start = bytes.baseAddress, bytes.count > 0 else { return }
    let page = Int(sysconf(Int32(_SC_PAGESIZE)))
    let first = (Int(bitPattern: start) + page - 1) / page * page
    let last = (Int(bitPattern: start) + bytes.count) / page * page
    let mapStart = Int(bitPattern: base), mapEnd = mapStart + mappedLength
    guard last > first, first >= mapStart, last <= mapEnd else { return }
    _ = madvise(UnsafeMutableRawPointer(bitPattern: first), last - first, Int32(MADV_DONTNEED))
  }

  /// Raw bytes of one tensor, valid while this file object lives.
  public func withRawBytes<R>(_ name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
    let e = try entry(name)
    return try body(UnsafeRawBufferPointer(start: base + dataStart + e.range.lowerBound, count: e.range.count))
  }

  /// One tensor in its file dtype on `device`: on the CPU a view of the mapping when
  /// aligned, else uploaded from it.
  public func tensor(_ name: String, device: Device = .default) throws -> Tensor {
    let e = try entry(name)
    let pointer = base + dataStart + e.range.lowerBound
    if device == .cpu && Int(bitPattern: pointer) % e.dtype.byteSize == 0 && e.range.count > 0 {
      return Tensor(borrowing: pointer, shape: e.shape, dtype: e.dtype, owner: self)
    }
    return Tensor(bytes: UnsafeRawBufferPointer(start: pointer, count: e.range.count), shape: e.shape, dtype: e.dtype, device: device)
  }

  /// Every tensor, converted to `dtype` when given.
  public func tensors(as dtype: DType? = nil) throws -> [String: Tensor] {
    var out: [String: Tensor] = [:]
    for e in entries {
      let t = try tensor(e.name)
      out[e.name] = dtype.map { t.to($0) } ?? t
    }
    return out
  }
}

public enum SafeTensors {
  static let fileNames: [DType: String] = [
    .float32: "F32", .float64: "F64", .float16: "F16", .bfloat16: "BF16", .int64: "I64", .int32: "I32",
    .uint8: "U8", .bool: "BOOL",
  ]

  /// Loads every tensor of a file.
  public static func load(_ path: String, as dtype: DType? = nil) throws -> [String: Tensor] {
    try SafeTensorsFile(path: path).tensors(as: dtype)
  }

  /// Writes tensors (atomically) in the safetensors format: an 8-byte header length,
  /// a JSON header padded with spaces to 8 bytes, then the data in name order.
  public static func save(_ tensors: [String: Tensor], metadata: [String: String]? = nil, to path: String) throws {
    let names = tensors.keys.sorted()
    for name in names where name == "__metadata__" {
      throw SafeTensorsError(path: path, tensor: name, reason: "'__metadata__' is reserved")
    }
    var header = "{"
    var parts: [String] = []
    if let metadata, !metadata.isEmpty {
      let items = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
      parts.append("\"__metadata__\":{\(items.joined(separator: ","))}")
    }
    var offset = 0
    var dense: [Tensor] = []
    for name in names {
      let t = tensors[name]!.detach().contiguous()
      guard let dtypeName = fileNames[t.dtype] else {
        throw SafeTensorsError(path: path, tensor: name, reason: "dtype \(t.dtype) cannot be stored")
      }
      let bytes = t.count * t.dtype.byteSize
      parts.append(
        "\(jsonString(name)):{\"dtype\":\"\(dtypeName)\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + bytes)]}"
      )
      offset += bytes
      dense.append(t)
    }
    header += parts.joined(separator: ",") + "}"
    var headerBytes = Array(header.utf8)
    while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }
    try AtomicFile.write(to: path) { handle in
      var length = UInt64(headerBytes.count).littleEndian
      try handle.write(contentsOf: Data(bytes: &length, count: 8))
      try handle.write(contentsOf: Data(headerBytes))
      for t in dense where t.count > 0 {
        // Downloaded from the tensor's device one tensor at a time.
        var data = Data(count: t.count * t.dtype.byteSize)
        data.withUnsafeMutableBytes { t.copyBytes(into: $0) }
        try handle.write(contentsOf: data)
      }
    }
  }

  static func jsonString(_ s: String) -> String {
    let data = try! JSONSerialization.data(withJSONObject: [s], options: [.withoutEscapingSlashes])
    let text = String(decoding: data, as: UTF8.self)
    return String(text.dropFirst().dropLast())
  }
}
