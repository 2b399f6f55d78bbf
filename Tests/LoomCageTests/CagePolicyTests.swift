import Foundation
import XCTest

@testable import LoomCage

/// Each on-fail policy with deterministic validators, thresholds, and fail-closed checks.
final class CagePolicyTests: XCTestCase {
  func cage(_ policy: OnFail, threshold: Severity = .note, validator: any Validator = MarkerValidator()) -> SafetyCage {
    SafetyCage(output: [CageEntry(validator, policy: policy, threshold: threshold)])
  }

  func testPassingTextIsReleasedUnchanged() {
    let check = cage(.exception).check("all good", stage: .output)
    XCTAssertEqual(check.decision, .release)
    XCTAssertEqual(check.text, "all good")
    XCTAssertEqual(check.verdicts.map(\.result), [.pass])
  }

  func testExceptionRefrainReaskAndNoop() {
    let text = "a BAD line"
    XCTAssertEqual(cage(.exception).check(text, stage: .output).decision, .refuse)
    XCTAssertEqual(cage(.refrain).check(text, stage: .output).decision, .refrain)
    XCTAssertEqual(cage(.reask).check(text, stage: .output).decision, .regenerate)
    XCTAssertEqual(cage(.regenerate).check(text, stage: .output).decision, .regenerate)
    // A prompt cannot be regenerated: reask on input refuses.
    let input = SafetyCage(input: [CageEntry(MarkerValidator(), policy: .reask)])
    XCTAssertEqual(input.check(text, stage: .input).decision, .refuse)
    let noop = cage(.noop).check(text, stage: .output)
    XCTAssertEqual(noop.decision, .release)
    XCTAssertEqual(noop.text, text, "noop only logs")
    XCTAssertEqual(noop.verdicts[0].result, .fail)
    XCTAssertEqual(noop.verdicts[0].findings.count, 1)
  }

  func testFixAppliesTheFixesAndRevalidates() {
    let check = cage(.fix).check("BAD and BAD\nfine", stage: .output)
    XCTAssertEqual(check.decision, .release)
    XCTAssertEqual(check.text, "ok and ok\nfine")
    XCTAssertEqual(check.verdicts[0].result, .fixed)
    XCTAssertEqual(check.verdicts[0].findings.count, 2)
    // A fix that re-creates the problem is refused, never released.
    let bad = cage(.fix, validator: MarkerValidator(replacement: "BAD!")).check("BAD", stage: .output)
    XCTAssertEqual(bad.decision, .refuse)
    XCTAssertTrue(bad.verdicts[0].error?.contains("fix left 1 finding") == true, "\(bad.verdicts)")
  }

  func testFilterDropsTheOffendingLines() {
    let check = cage(.filter).check("one\ntwo BAD\nthree\nBAD four", stage: .output)
    XCTAssertEqual(check.decision, .release)
    XCTAssertEqual(check.text, "one\nthree")
  }

  func testLaterValidatorsSeeTheFixedText() {
    let c = SafetyCage(output: [
      CageEntry(MarkerValidator(), policy: .fix),
      CageEntry(MarkerValidator(name: "second", marker: "ok", replacement: "x"), policy: .exception),
    ])
    let check = c.check("BAD", stage: .output)
    XCTAssertEqual(check.decision, .refuse, "the second validator sees 'ok' from the first one's fix")
    XCTAssertEqual(check.verdicts.map(\.validator), ["marker", "second"])
  }

  func testThresholdIgnoresLowerSeverities() {
    let low = MarkerValidator(severity: .low)
    let check = cage(.exception, threshold: .medium, validator: low).check("BAD", stage: .output)
    XCTAssertEqual(check.decision, .release)
    XCTAssertEqual(check.verdicts[0].ignored, 1)
    XCTAssertEqual(cage(.exception, threshold: .low, validator: low).check("BAD", stage: .output).decision, .refuse)
  }

  func testAThrowingValidatorFailsClosedWhateverThePolicy() {
    for policy in [OnFail.noop, .fix, .filter, .exception] {
      let check = cage(policy, validator: ThrowingValidator()).check("anything", stage: .output)
      XCTAssertEqual(check.decision, .refuse, "\(policy)")
      XCTAssertEqual(check.verdicts[0].result, .error)
      XCTAssertFalse(check.verdicts[0].passed)
      XCTAssertEqual(check.verdicts[0].findings.first?.ruleId, "cage.validator-error")
    }
    XCTAssertEqual(cage(.reask, validator: ThrowingValidator()).check("x", stage: .output).decision, .regenerate)
    XCTAssertEqual(cage(.refrain, validator: ThrowingValidator()).check("x", stage: .output).decision, .refrain)
  }

  func testATooSlowValidatorFailsClosed() {
    let c = SafetyCage(output: [CageEntry(SlowValidator(seconds: 2), policy: .noop, timeout: 0.05)])
    let start = Date()
    let check = c.check("text", stage: .output)
    XCTAssertLessThan(Date().timeIntervalSince(start), 1.5, "the cage does not wait for the slow validator")
    XCTAssertEqual(check.decision, .refuse)
    XCTAssertEqual(check.verdicts[0].result, .timeout)
    XCTAssertTrue(check.verdicts[0].error!.contains("50 ms"), check.verdicts[0].error!)
    // Within its limit the same validator passes.
    let fast = SafetyCage(output: [CageEntry(SlowValidator(seconds: 0.01), timeout: 5)])
    XCTAssertEqual(fast.check("text", stage: .output).decision, .release)
  }

  func testOversizedTextFailsClosedWithoutRunningValidators() {
    var c = cage(.noop)
    c.maxInputBytes = 10
    let check = c.check("this text is longer than ten bytes", stage: .output)
    XCTAssertEqual(check.decision, .refuse)
    XCTAssertTrue(check.verdicts[0].error!.contains("max_input_bytes 10"), check.verdicts[0].error!)
  }

  func testInspectKeepsEveryValidatorsFindings() {
    let c = SafetyCage(
      input: [CageEntry(MarkerValidator(name: "a", marker: "X"))],
      output: [CageEntry(MarkerValidator()), CageEntry(ThrowingValidator())])
    let verdicts = c.inspect("X BAD")
    XCTAssertEqual(verdicts.map(\.result), [.fail, .fail, .error])
  }
}
