import CLoomKernels
import Foundation
import XCTest

final class OptimTests: XCTestCase {
  func testAdamWAndAdam() {
    forEachISA { w in
      var rng = Rng(13)
      for n in tailSizes {
        for decoupled in [true, false] {
          var p = rng.floats(n), m = [Float](repeating: 0, count: n), v = m
          var pr = p.map { Double($0) }, mr = [Double](repeating: 0, count: n), vr = mr
          let lr: Float = 1e-3, b1: Float = 0.9, b2: Float = 0.999, eps: Float = 1e-8, wd: Float = 0.1
          for step in 1...3 {
            let g = rng.floats(n)
            if decoupled { loom_adamw_step_f32(&p, g, &m, &v, Int64(n), lr, b1, b2, eps, wd, Int64(step)) }
            else { loom_adam_step_f32(&p, g, &m, &v, Int64(n), lr, b1, b2, eps, wd, Int64(step)) }
            let bc1 = 1 - pow(Double(b1), Double(step)), bc2 = 1 - pow(Double(b2), Double(step))
            for i in 0..<n {
              var gi = Double(g[i])
              if decoupled { pr[i] *= 1 - Double(lr) * Double(wd) } else { gi += Double(wd) * pr[i] }
              mr[i] = Double(b1) * mr[i] + (1 - Double(b1)) * gi
              vr[i] = Double(b2) * vr[i] + (1 - Double(b2)) * gi * gi
              pr[i] -= Double(lr) / bc1 * mr[i] / (vr[i].squareRoot() / bc2.squareRoot() + Double(eps))
            }
          }
          let tag = "adam decoupled=\(decoupled) n=\(n) w=\(w)"
          // m/sqrt(v) is ill-conditioned where |g| is tiny, so p gets an absolute
          // floor of lr*5e-4; m and v floors are float rounding of O(1) gradients.
          check(p, pr, rtol: 1e-6, atol: 5e-7, "p " + tag)
          check(m, mr, rtol: 2e-6, atol: 5e-8, "m " + tag)
          check(v, vr, rtol: 2e-6, atol: 5e-10, "v " + tag)
        }
      }
    }
  }

  func testSGD() {
    forEachISA { w in
      var rng = Rng(14)
      for n in tailSizes {
        for (mom, damp, nest, wd) in [(Float(0), Float(0), false, Float(0)), (0.9, 0, false, 0.01), (0.9, 0.1, false, 0), (0.9, 0, true, 0.05)] {
          var p = rng.floats(n), buf = [Float](repeating: 0, count: n)
          var pr = p.map { Double($0) }, br = [Double](repeating: 0, count: n)
          let lr: Float = 0.05
          for step in 0..<3 {
            let g = rng.floats(n)
            if mom == 0 {
              loom_sgd_step_f32(&p, g, nil, Int64(n), lr, mom, damp, wd, nest ? 1 : 0, step == 0 ? 1 : 0)
            } else {
              loom_sgd_step_f32(&p, g, &buf, Int64(n), lr, mom, damp, wd, nest ? 1 : 0, step == 0 ? 1 : 0)
            }
            for i in 0..<n {
              var d = Double(g[i]) + Double(wd) * pr[i]
              if mom != 0 {
                br[i] = step == 0 ? d : Double(mom) * br[i] + (1 - Double(damp)) * d
                d = nest ? d + Double(mom) * br[i] : br[i]
              }
              pr[i] -= Double(lr) * d
            }
          }
          check(p, pr, rtol: 1e-6, atol: 1e-7, "sgd mom=\(mom) damp=\(damp) nest=\(nest) n=\(n) w=\(w)")
        }
      }
    }
  }
}
