import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Writes files atomically: the bytes go to a temporary file in the same directory,
/// are flushed to disk, and the temporary file is renamed over the target. A crash
/// mid-write leaves the previous file intact.
public enum AtomicFile {
  public static func write(to path: String, _ body: (FileHandle) throws -> Void) throws {
    let url = URL(fileURLWithPath: path)
    let dir = url.deletingLastPathComponent().path
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
      throw IOError("cannot write \(path): directory \(dir) does not exist")
    }
    let tmp = "\(dir)/.\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    guard FileManager.default.createFile(atPath: tmp, contents: nil),
      let handle = FileHandle(forWritingAtPath: tmp)
    else {
      throw IOError("cannot create temporary file \(tmp) (is the directory writable?)")
    }
    do {
      try body(handle)
      try handle.synchronize()
      try handle.close()
    } catch {
      try? handle.close()
      unlink(tmp)
      throw error
    }
    guard rename(tmp, path) == 0 else {
      let reason = String(cString: strerror(errno))
      unlink(tmp)
      throw IOError("cannot move \(tmp) to \(path): \(reason)")
    }
  }

  public static func write(_ data: Data, to path: String) throws {
    try write(to: path) { try $0.write(contentsOf: data) }
  }
}

/// A file-level error with a message naming the file and what is wrong.
public struct IOError: Error, CustomStringConvertible, Equatable {
  public let message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}
