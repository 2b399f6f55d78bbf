import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

private let spawnLock = NSLock()

/// How a child spawned by `spawnLimited` ended.
struct SpawnOutcome {
  /// The exit status, or the signal number when `signaled`.
  var status: Int32 = 0
  var signaled = false
  /// Killed by `spawnLimited` at its deadline.
  var timedOut = false
  var err = ""
}

/// Runs `argv` with standard output discarded and standard error captured, killing it after
/// `seconds`. The mutation tests spawn many children from several threads at once; Foundation's
/// `Process` on Linux crashed (SIGSEGV while spawning) under that load, so this calls
/// `posix_spawn` directly. The stderr pipe is close-on-exec, so a child spawned concurrently by
/// another thread never inherits it and holds another child's reader open.
func spawnLimited(_ argv: [String], environment: [String: String], seconds: Double) throws -> SpawnOutcome {
  // `pipe2` is not exported to Swift, so the pipe is made close-on-exec with `fcntl`; the lock
  // keeps every other spawn out of the window between the two.
  spawnLock.lock()
  var fds: [Int32] = [0, 0]
  guard pipe(&fds) == 0 else {
    spawnLock.unlock()
    throw POSIXError(.init(rawValue: errno) ?? .EIO)
  }
  _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
  _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
  defer { close(fds[0]) }

  var actions = posix_spawn_file_actions_t()
  posix_spawn_file_actions_init(&actions)
  defer { posix_spawn_file_actions_destroy(&actions) }
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2)

  let cArgs = argv.map { strdup($0) } + [nil]
  let cEnv = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
  defer {
    cArgs.forEach { free($0) }
    cEnv.forEach { free($0) }
  }
  var pid: pid_t = 0
  let spawned = posix_spawn(&pid, argv[0], &actions, nil, cArgs, cEnv)
  close(fds[1])
  spawnLock.unlock()
  guard spawned == 0 else { throw POSIXError(.init(rawValue: spawned) ?? .EIO) }

  var outcome = SpawnOutcome()
  var captured = [UInt8]()
  var buffer = [UInt8](repeating: 0, count: 65536)
  let deadline = Date().addingTimeInterval(seconds)
  while true {
    let left = deadline.timeIntervalSinceNow
    if left <= 0 && !outcome.timedOut {
      kill(pid, SIGKILL)
      outcome.timedOut = true
    }
    var poller = pollfd(fd: fds[0], events: Int16(POLLIN), revents: 0)
    let ready = poll(&poller, 1, outcome.timedOut ? 1000 : Int32(min(left, 1) * 1000) + 1)
    if ready < 0 && errno == EINTR { continue }
    if ready <= 0 { continue }
    let n = buffer.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
    if n < 0 && errno == EINTR { continue }
    if n <= 0 { break }
    captured.append(contentsOf: buffer[0..<n])
  }
  var raw: Int32 = 0
  while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
  let signal = raw & 0x7f
  if signal == 0 {
    outcome.status = (raw >> 8) & 0xff
  } else {
    outcome.signaled = true
    outcome.status = signal
  }
  outcome.err = String(decoding: captured, as: UTF8.self)
  return outcome
}
