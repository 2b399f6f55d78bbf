import LoomCore

/// Geometry of a sliding window over a 2-D input, possibly zero-dilated (transposed
/// convolution) and padded. Patches are materialised with one column gather over the
/// flattened input (index −1 for padding; built in range, so `takeColumns(validated:)`), so forward, backward (column add, the
/// col2im adjoint) and double backward all come from core's differentiable gather.
struct PatchGeometry: Hashable {
  var channels: Int, height: Int, width: Int
  var kernel: (h: Int, w: Int)
  var stride: (h: Int, w: Int) = (1, 1)
  var dilation: (h: Int, w: Int) = (1, 1)
  /// Zeros inserted between input pixels (stride of a transposed convolution).
  var inputDilation: (h: Int, w: Int) = (1, 1)
  var padBefore: (h: Int, w: Int) = (0, 0)
  var padAfter: (h: Int, w: Int) = (0, 0)
  var groups = 1

  var virtualHeight: Int { (height - 1) * inputDilation.h + 1 + padBefore.h + padAfter.h }
  var virtualWidth: Int { (width - 1) * inputDilation.w + 1 + padBefore.w + padAfter.w }
  var outHeight: Int { (virtualHeight - dilation.h * (kernel.h - 1) - 1) / stride.h + 1 }
  var outWidth: Int { (virtualWidth - dilation.w * (kernel.w - 1) - 1) / stride.w + 1 }
  var padSlot: Int { channels * height * width }

  static func == (a: PatchGeometry, b: PatchGeometry) -> Bool { a.key == b.key }
  func hash(into h: inout Hasher) { h.combine(key) }
  private var key: [Int] {
    [
      channels, height, width, kernel.h, kernel.w, stride.h, stride.w, dilation.h, dilation.w,
      inputDilation.h, inputDilation.w, padBefore.h, padBefore.w, padAfter.h, padAfter.w, groups,
    ]
  }

  /// Flat input positions ordered [group, oh·ow, c-in-group, kh, kw]; `padding` (−1: a zero
  /// column; `padSlot`: a pad column appended to the input) where the window is off the input.
  func index(padding: Int64 = -1) -> Tensor {
    let oh = outHeight
    let ow = outWidth
    precondition(
      oh > 0 && ow > 0,
      "convolution/pooling: window \(kernel) larger than padded input \(height)x\(width)")
    let cg = channels / groups
    let kk = kernel.h * kernel.w
    var out = [Int64](repeating: padding, count: groups * oh * ow * cg * kk)
    out.withUnsafeMutableBufferPointer { p in
      var i = 0
      for g in 0..<groups {
        for y in 0..<oh {
          for x in 0..<ow {
            for c in (g * cg)..<((g + 1) * cg) {
              for ky in 0..<kernel.h {
                let vy = y * stride.h + ky * dilation.h - padBefore.h
                let iy = vy / inputDilation.h
                let rowOK = vy >= 0 && vy % inputDilation.h == 0 && iy < height
                for kx in 0..<kernel.w {
                  let vx = x * stride.w + kx * dilation.w - padBefore.w
                  let ix = vx / inputDilation.w
                  if rowOK && vx >= 0 && vx % inputDilation.w == 0 && ix < width {
                    p[i] = Int64((c * height + iy) * width + ix)
                  }
                  i += 1
                }
              }
            }
          }
        }
      }
    }
    return Tensor(out, shape: [out.count])
  }
}

/// Caches index tensors by geometry (modules see the same input shape every step).
final class PatchIndexCache {
  private struct Key: Hashable {
    let geometry: PatchGeometry
    let padding: Int64
  }
  private var cache: [Key: Tensor] = [:]
  func index(_ g: PatchGeometry, padding: Int64 = -1) -> Tensor {
    let key = Key(geometry: g, padding: padding)
    if let t = cache[key] { return t }
    let t = g.index(padding: padding)
    if cache.count > 16 { cache.removeAll() }
    cache[key] = t
    return t
  }
}

/// Patches of x [N, C, H, W] as [N, groups, L, C/groups·kh·kw], pad entries = `padValue`.
func extractPatches(
  _ x: Tensor, _ g: PatchGeometry, padValue: Double = 0, cache: PatchIndexCache? = nil
) -> Tensor {
  precondition(x.rank == 4, "extractPatches: expected [N, C, H, W], got \(x.shape)")
  let n = x.shape[0]
  let flat = x.reshape([n, g.padSlot])
  let cols: Tensor
  if padValue == 0 {
    cols = flat.takeColumns(validated: cache?.index(g) ?? g.index())
  } else {
    // A pad column holding padValue (−inf for max pooling) appended at position padSlot.
    let slot = Int64(g.padSlot)
    let pad = Tensor.full([n, 1], padValue, dtype: x.dtype, device: x.device)
    let padded = Tensor.cat([flat, pad], dim: 1)
    cols = padded.indexSelect(
      dim: 1, index: cache?.index(g, padding: slot) ?? g.index(padding: slot))
  }
  return cols.reshape([
    n, g.groups, g.outHeight * g.outWidth, g.channels / g.groups * g.kernel.h * g.kernel.w,
  ])
}
