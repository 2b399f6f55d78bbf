import FuzzSupport
import LoomDatasets
import LoomTokenizers

/// A SQuAD-format file through Dataset.loadSQuAD (as `loom train qa --data` reads it), as
/// SQuAD JSON and as its flat JSON-lines form, then run_qa's train and validation features
/// (short windows, so contexts overflow) and the n-best post-processing.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ input: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  Scratch.read(input, size, as: ["squad.json", "squad.jsonl"]) { path in
    let d = try Dataset.loadSQuAD(path)
    _ = try QuestionAnswering.prepareTrainFeatures(d, tokenizer: tokenizer, maxLength: 24, docStride: 4)
    let windows = try QuestionAnswering.prepareValidationFeatures(d, tokenizer: tokenizer, maxLength: 24, docStride: 4)
    let logits = (0..<windows.count).map { w in (0..<24).map { Float((w * 7 + $0 * 13) % 11) } }
    _ = try QuestionAnswering.postprocess(
      examples: d, features: windows, startLogits: logits, endLogits: logits.map { $0.reversed() },
      nBestSize: 5, maxAnswerLength: 8)
  }
  return 0
}

/// A BERT-like WordPiece tokenizer with a few words (the rest are [UNK]).
let tokenizer: Tokenizer = {
  let json = ###"{"version":"1.0","truncation":null,"padding":null,"added_tokens":[{"id":0,"content":"[PAD]","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},{"id":1,"content":"[UNK]","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},{"id":2,"content":"[CLS]","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},{"id":3,"content":"[SEP]","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true},{"id":4,"content":"[MASK]","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true}],"normalizer":{"type":"Sequence","normalizers":[{"type":"NFD"},{"type":"Lowercase"},{"type":"StripAccents"},{"type":"NFC"}]},"pre_tokenizer":{"type":"Whitespace"},"post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"[CLS]","type_id":0}},{"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"[SEP]","type_id":0}}],"pair":[{"SpecialToken":{"id":"[CLS]","type_id":0}},{"Sequence":{"id":"A","type_id":0}},{"SpecialToken":{"id":"[SEP]","type_id":0}},{"Sequence":{"id":"B","type_id":1}},{"SpecialToken":{"id":"[SEP]","type_id":1}}],"special_tokens":{"[CLS]":{"id":"[CLS]","ids":[2],"tokens":["[CLS]"]},"[MASK]":{"id":"[MASK]","ids":[4],"tokens":["[MASK]"]},"[SEP]":{"id":"[SEP]","ids":[3],"tokens":["[SEP]"]}}},"decoder":{"type":"WordPiece","prefix":"##","cleanup":true},"model":{"type":"WordPiece","unk_token":"[UNK]","continuing_subword_prefix":"##","max_input_chars_per_word":100,"vocab":{"[PAD]":0,"[UNK]":1,"[CLS]":2,"[SEP]":3,"[MASK]":4,"the":5,"of":6,"is":7,"what":8,"where":9,"who":10,"a":11,"in":12,"and":13,"was":14,"john":15,"paris":16,"lives":17,"movie":18,"good":19,".":20,"?":21,"##s":22,"##ed":23,"##ing":24}}}"###
  let bytes = Array(json.utf8)
  let path: String = bytes.withUnsafeBytes { (b: UnsafeRawBufferPointer) -> String in Scratch.write("tokenizer.json", b) }
  do { return try Tokenizer.load(tokenizerJSON: path) } catch { fatalError("the fixed tokenizer: \(error)") }
}()

@main enum Main {
  static func main() { runFuzzer(fuzzOne) }
}
