// The C analyser's rules: stable ids (`c.<family>.<name>`), CWEs, default severities. Messages and fixes are made
// where the rules fire (CallRules, FlowRules, SecretRules).

enum CRule: String, CaseIterable, Sendable {
  case gets = "c.dangerous-function.gets"
  case strcpy = "c.dangerous-function.strcpy"
  case strcat = "c.dangerous-function.strcat"
  case sprintf = "c.dangerous-function.sprintf"
  case scanfString = "c.dangerous-function.scanf-string"
  case system = "c.command-injection.system"
  case exec = "c.command-injection.exec"
  case formatString = "c.format-string.non-literal"
  case uncheckedAllocation = "c.allocation.unchecked-result"
  case allocationOverflow = "c.allocation.size-overflow"
  case unboundedCopy = "c.buffer.unbounded-copy"
  case strncatSize = "c.buffer.strncat-size"
  case wideCharCount = "c.buffer.wide-char-count"
  case useAfterFree = "c.memory.use-after-free"
  case doubleFree = "c.memory.double-free"
  case toctou = "c.race.toctou"
  case weakRandom = "c.crypto.weak-random"
  case predictableSeed = "c.crypto.predictable-seed"
  case weakHash = "c.crypto.weak-hash"
  case sha1Signature = "c.crypto.sha1-signature"
  case weakCipher = "c.crypto.weak-cipher"
  case ecbMode = "c.crypto.ecb-mode"
  case hardCodedSecret = "c.secrets.hard-coded"
  case nullDacl = "c.windows.null-dacl"
  case syntaxError = "c.parse.syntax-error"
  case tooDeep = "c.parse.too-deep"

  var cwe: [Int] {
    switch self {
    case .gets: return [242, 120]
    case .strcpy, .strcat, .sprintf, .scanfString, .strncatSize, .wideCharCount: return [120]
    case .system, .exec: return [78]
    case .formatString: return [134]
    case .uncheckedAllocation: return [690, 252]
    case .allocationOverflow: return [190, 680]
    case .unboundedCopy: return [120, 787]
    case .useAfterFree: return [416]
    case .doubleFree: return [415]
    case .toctou: return [367]
    case .weakRandom: return [338]
    case .predictableSeed: return [337]
    case .weakHash: return [327, 328]
    case .sha1Signature, .weakCipher, .ecbMode: return [327]
    case .hardCodedSecret: return [798]
    case .nullDacl: return [732]
    case .syntaxError, .tooDeep: return []
    }
  }

  var severity: Severity {
    switch self {
    case .gets, .system, .useAfterFree, .doubleFree: return .critical
    case .strcpy, .strcat, .sprintf, .scanfString, .exec, .formatString, .allocationOverflow, .unboundedCopy,
      .strncatSize, .wideCharCount, .weakRandom, .weakHash, .sha1Signature, .weakCipher, .hardCodedSecret, .nullDacl:
      return .high
    case .uncheckedAllocation, .toctou, .predictableSeed, .ecbMode, .syntaxError, .tooDeep: return .medium
    }
  }

  var summary: String {
    switch self {
    case .gets: return "gets() cannot bound its input; use fgets(buf, sizeof buf, stdin)"
    case .strcpy: return "strcpy-family copy without a bound (strcpy, wcscpy, lstrcpy, _mbscpy, stpcpy)"
    case .strcat: return "strcat-family concatenation without a bound (strcat, wcscat, lstrcat, _mbscat)"
    case .sprintf: return "sprintf/vsprintf with %s or a non-constant format into a buffer; use snprintf"
    case .scanfString: return "scanf-family %s or %[ conversion without a field width"
    case .system: return "system()/popen() with a command that is not a constant string"
    case .exec: return "exec*() with a program or argument that is not a constant string"
    case .formatString: return "printf-family call whose format is not a string literal"
    case .uncheckedAllocation: return "malloc/calloc/realloc/strdup result used before a NULL check"
    case .allocationOverflow: return "allocation size computed with a multiplication that can overflow"
    case .unboundedCopy: return "memcpy/strncpy/read/fgets into a fixed-size array with a length not bounded by it"
    case .strncatSize: return "strncat with the destination's whole size as the limit"
    case .wideCharCount: return "MultiByteToWideChar given a size in bytes where characters are required"
    case .useAfterFree: return "pointer used after free() in straight-line code"
    case .doubleFree: return "pointer freed twice in straight-line code"
    case .toctou: return "access()/stat() check followed by open/fopen of the same path"
    case .weakRandom: return "rand()/random() used for keys, nonces, IVs, salts or tokens"
    case .predictableSeed: return "PRNG seeded with the time or the process id"
    case .weakHash: return "MD5/MD4/MD2 (OpenSSL, wolfSSL wc_Md5*, …)"
    case .sha1Signature: return "SHA-1 used in a signature"
    case .weakCipher: return "DES/3DES/RC4/RC2/Blowfish (wc_Des*, wc_Arc4*, EVP_des_*, RC4, …)"
    case .ecbMode: return "block cipher in ECB mode (wc_AesEcb*, EVP_*_ecb, *_ecb_encrypt)"
    case .hardCodedSecret: return "string or byte-array literal stored in a key, password, secret, IV or token"
    case .nullDacl: return "SetSecurityDescriptorDacl with a NULL DACL"
    case .syntaxError: return "the code does not parse (grammar errors remain after tolerating missing headers)"
    case .tooDeep: return "the code nests deeper than the analyser descends; the deepest parts were not checked"
    }
  }

  var description: RuleDescription {
    RuleDescription(id: rawValue, cwe: cwe, severity: severity, summary: summary)
  }
}
