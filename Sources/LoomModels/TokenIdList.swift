import Foundation

/// A token-id field Hugging Face types as `int | list[int] | None` (`eos_token_id`): read
/// from either form, written back as a single int when it holds one id.
public struct TokenIdList: Codable, Sendable, Equatable, ExpressibleByIntegerLiteral,
  ExpressibleByArrayLiteral
{
  public var ids: [Int]

  public init(_ ids: [Int]) { self.ids = ids }
  public init(integerLiteral value: Int) { ids = [value] }
  public init(arrayLiteral elements: Int...) { ids = elements }

  public init(from decoder: Decoder) throws {
    let c = try decoder.singleValueContainer()
    if let one = try? c.decode(Int.self) {
      ids = [one]
    } else {
      ids = try c.decode([Int].self)
    }
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.singleValueContainer()
    if ids.count == 1 { try c.encode(ids[0]) } else { try c.encode(ids) }
  }

  /// The first id (what a single-id consumer such as a padding fallback uses).
  public var first: Int? { ids.first }
}
