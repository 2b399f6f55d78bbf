import Foundation
import LoomCore
import LoomIO
import LoomOptim
import LoomTrain
import XCTest

/// The files a resume reads besides the weights (issue 13): clear errors naming the file
/// and the field instead of DecodingError dumps, traps on negative counters or a NaN step.
final class CheckpointReadingTests: XCTestCase {
  var dir: String!
  override func setUp() {
    dir = NSTemporaryDirectory() + "loom-ckpt-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  }
  override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

  func state(_ json: String) -> String {
    let path = dir + "/trainer_state.json"
    _ = FileManager.default.createFile(atPath: path, contents: Data(json.utf8))
    do {
      let s = try Trainer.readTrainerState(path)
      return "step \(s.globalStep)"
    } catch { return "\(error)" }
  }

  func testTrainerStateFieldsAreCheckedAndNamed() {
    let path = dir + "/trainer_state.json"
    XCTAssertEqual(
      state(#"{"global_step": 7, "epoch": 0.5, "max_steps": 8, "num_train_epochs": 1, "train_batch_size": 2, "log_history": [{"loss": 2.5}], "loom_epoch_index": 0, "loom_batches_in_epoch": 7}"#),
      "step 7")
    XCTAssertEqual(
      state(#"{"global_step": -3, "epoch": 0, "max_steps": 1, "num_train_epochs": 1, "train_batch_size": 1, "log_history": [], "loom_epoch_index": 0, "loom_batches_in_epoch": 0}"#),
      "\(path): field 'global_step' must be >= 0, got -3")
    XCTAssertEqual(
      state(#"{"global_step": 1, "epoch": 0, "max_steps": 1, "num_train_epochs": 1, "train_batch_size": 1, "log_history": [], "loom_epoch_index": 0, "loom_batches_in_epoch": -1}"#),
      "\(path): field 'loom_batches_in_epoch' must be >= 0, got -1")
    XCTAssertEqual(
      state(#"{"global_step": "x", "epoch": 0, "max_steps": 1, "num_train_epochs": 1, "train_batch_size": 1, "log_history": []}"#),
      "\(path): field 'global_step' must be an integer, got a string \"x\"")
    XCTAssertEqual(state("{"), "\(path): not valid JSON")
    try? FileManager.default.removeItem(atPath: path)
    XCTAssertEqual(state(""), "\(path): not valid JSON")
  }

  func testMissingStateFileSaysSoPlainly() {
    XCTAssertThrowsError(try Trainer.readTrainerState(dir + "/none/trainer_state.json")) {
      XCTAssertEqual("\($0)", "cannot read \(self.dir!)/none/trainer_state.json: no such file")
    }
  }

  func testCorruptOptimizerStepIsAnErrorNotATrap() throws {
    let p = Tensor.zeros([2])
    p.requiresGrad = true
    for bad in [Double.nan, 1e30, -1, 2.5] {
      let state = ["0.exp_avg": Tensor.zeros([2]), "0.exp_avg_sq": Tensor.zeros([2]), "0.step": Tensor(scalar: Float(bad))]
      XCTAssertThrowsError(try AdamW([p]).loadStateDict(state)) {
        XCTAssertTrue("\($0)".contains("optimizer state: 0.step must be a whole number >= 0"), "\($0)")
      }
      XCTAssertThrowsError(try Adafactor([p]).loadStateDict(["0.step": Tensor(scalar: Float(bad)), "0.variance": Tensor.zeros([2])]))
    }
    let wide = ["0.exp_avg": Tensor.zeros([2]), "0.exp_avg_sq": Tensor.zeros([2]), "0.step": Tensor.zeros([3])]
    XCTAssertThrowsError(try AdamW([p]).loadStateDict(wide)) {
      XCTAssertTrue("\($0)".contains("0.step must hold one number, has shape [3]"), "\($0)")
    }
  }
}
