import Foundation

/// A token-id field Hugging Face types as `int | list[int] | None` (`eos_token_id` in every
/// config.json and generation_config.json): read from either form, written back as a single
/// int when it holds one id (as HF writes it).
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
    } else if let list = try? c.decode([Int].self) {
      ids = list
    } else {
      throw DecodingError.dataCorrupted(
        .init(codingPath: decoder.codingPath, debugDescription: "must be an integer or a list of integers"))
    }
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.singleValueContainer()
    if ids.count == 1 { try c.encode(ids[0]) } else { try c.encode(ids) }
  }

  /// The first id (what a single-id consumer such as a padding fallback uses).
  public var first: Int? { ids.first }
}
