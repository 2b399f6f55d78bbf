import Foundation

/// tokenizer.json readers for the Unigram model and the SentencePiece-style pieces around it.
extension TokenizerJSONReader {
  /// `{"type": "Unigram", "unk_id": …, "vocab": [[piece, score], …], "byte_fallback": …}`.
  func unigram(_ m: [String: Any]) throws -> Unigram {
    guard let raw = m["vocab"] as? [Any] else {
      throw fail("model.vocab", "expected an array of [piece, score] pairs")
    }
    guard raw.count <= maxTokenId else {
      throw fail("model.vocab", "more than \(maxTokenId) pieces")
    }
    var pieces = [(piece: String, score: Double)]()
    pieces.reserveCapacity(raw.count)
    for (i, x) in raw.enumerated() {
      let place = "model.vocab[\(i)]"
      guard let a = x as? [Any], a.count == 2, let s = a[0] as? String else {
        throw fail(place, "expected [piece, score] (a string and a number), got \(x)")
      }
      // corelibs-foundation reads long decimals as NSDecimalNumber, whose doubleValue can be
      // off by an ulp; its text parses to the exact double.
      guard let n = a[1] as? NSNumber,
        case let v = (n as? NSDecimalNumber).flatMap({ Double($0.stringValue) }) ?? n.doubleValue,
        v.isFinite
      else {
        throw fail(place + "[1]", "the score of \"\(s)\" must be a finite number, got \(a[1])")
      }
      pieces.append((s, v))
    }
    let unk = try optInt(m, "unk_id", "model", 0...maxTokenId)
    do {
      return try Unigram(pieces: pieces, unkId: unk, byteFallback: bool(m, "byte_fallback", false))
    } catch Unigram.BadVocab.empty {
      throw fail("model.vocab", "empty, but model.unk_id needs the vocabulary to hold <unk>")
    } catch Unigram.BadVocab.unkOutOfRange(let u, let c) {
      throw fail(
        "model.unk_id", "\(u) is out of range for a vocabulary of \(c) pieces (0...\(c - 1))")
    }
  }

  /// `{"type": "Precompiled", "precompiled_charsmap": base64}`.
  func precompiled(_ d: [String: Any], _ place: String) throws -> Normalizer {
    let s = try str(d, "precompiled_charsmap", place)
    guard let data = Data(base64Encoded: s) else {
      throw fail(place + ".precompiled_charsmap", "not valid base64")
    }
    do { return .precompiled(try PrecompiledCharsmap([UInt8](data))) } catch PrecompiledCharsmap
      .BadCharsmap.truncated(let why)
    {
      throw fail(place + ".precompiled_charsmap", "truncated: \(why)")
    } catch {
      throw fail(place + ".precompiled_charsmap", "its replacement strings are not valid UTF-8")
    }
  }

  /// `{"String": …}` or `{"Regex": …}` (Split, Replace).
  func pattern(_ x: Any?, _ place: String) throws -> SplitPattern {
    let p = try obj(x, place)
    if let s = p["String"] as? String { return .string(s) }
    if let r = p["Regex"] as? String {
      do { _ = try NSRegularExpression(pattern: r) } catch {
        throw fail(place + ".Regex", "invalid regular expression \"\(r)\"")
      }
      return .regex(r)
    }
    throw fail(place, "expected {\"String\": …} or {\"Regex\": …}")
  }

  /// A one-character string (HF's `char` fields).
  func char(_ d: [String: Any], _ k: String, _ place: String) throws -> String {
    let s = try str(d, k, place)
    guard s.unicodeScalars.count == 1 else {
      throw fail(place + "." + k, "expected a single character, got \"\(s)\"")
    }
    return s
  }

  /// Metaspace pre-tokenizer or decoder; the legacy `add_prefix_space: false` means "never".
  func metaspace(_ d: [String: Any], _ place: String) throws -> Metaspace {
    var scheme = Metaspace.PrependScheme.always
    if let s = d["prepend_scheme"], !(s is NSNull) {
      guard let v = s as? String, let p = Metaspace.PrependScheme(rawValue: v) else {
        throw fail(place + ".prepend_scheme", "expected \"first\", \"never\" or \"always\"")
      }
      scheme = p
    } else if (d["add_prefix_space"] as? NSNumber)?.boolValue == false {
      scheme = .never
    }
    return Metaspace(
      replacement: try char(d, "replacement", place), prependScheme: scheme,
      split: bool(d, "split", true))
  }
}
