import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A file that could not be read: "cannot read PATH: no such file" rather than Foundation's
/// NSCocoaErrorDomain text.
public struct FileReadError: Error, CustomStringConvertible, Equatable, Sendable {
  public let path: String
  public let reason: String
  public init(path: String, reason: String) {
    self.path = path
    self.reason = reason
  }
  public var description: String { "cannot read \(path): \(reason)" }
}

/// Reading untrusted input files whole, with a size limit checked before anything is allocated.
public enum FileInput {
  /// Default cap for JSON and text files (configs, vocabularies, trainer state).
  public static let defaultLimit = 1 << 30

  /// The bytes of `path`; a missing, unreadable or oversized file or a directory throws a
  /// `FileReadError` saying which.
  public static func read(_ path: String, limit: Int = defaultLimit) throws -> Data {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw FileReadError(path: path, reason: reason(errno)) }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw FileReadError(path: path, reason: reason(errno)) }
    if (st.st_mode & S_IFMT) == S_IFDIR { throw FileReadError(path: path, reason: "is a directory, not a file") }
    let size = Int(st.st_size)
    guard size <= limit else {
      throw FileReadError(path: path, reason: "the file is \(size) bytes, more than the \(limit) this kind of file may have")
    }
    var data = Data(count: size)
    var done = 0
    while done < size {
      let n = data.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress! + done, size - done) }
      if n < 0 {
        if errno == EINTR { continue }
        throw FileReadError(path: path, reason: reason(errno))
      }
      if n == 0 { break }  // shrank while reading
      done += n
    }
    if done < size { data.count = done }
    return data
  }

  /// Whether `path` names an existing regular file (not a directory).
  public static func isFile(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0 && (st.st_mode & S_IFMT) != S_IFDIR
  }

  /// Plain words for an errno from open/read.
  public static func reason(_ code: Int32) -> String {
    switch code {
    case ENOENT: return "no such file"
    case EACCES, EPERM: return "permission denied"
    case EISDIR: return "is a directory, not a file"
    case ENOTDIR: return "a parent of the path is not a directory"
    case ENAMETOOLONG: return "the path is too long"
    case ELOOP: return "too many symbolic links"
    default: return String(cString: strerror(code))
    }
  }

  /// "cannot read PATH: no such file" for a Foundation file error (NSCocoaErrorDomain),
  /// otherwise the error's own text.
  public static func describe(_ error: Error, path: String) -> String {
    if let e = error as? FileReadError { return e.description }
    let ns = error as NSError
    guard ns.domain == NSCocoaErrorDomain else { return "\(error)" }
    if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
      return FileReadError(path: path, reason: reason(Int32(underlying.code))).description
    }
    switch ns.code {
    case NSFileReadNoSuchFileError, NSFileNoSuchFileError: return FileReadError(path: path, reason: "no such file").description
    case NSFileReadNoPermissionError, NSFileWriteNoPermissionError:
      return FileReadError(path: path, reason: "permission denied").description
    default: return FileReadError(path: path, reason: ns.localizedDescription).description
    }
  }
}

private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
  read(fd, buffer, count)
}
