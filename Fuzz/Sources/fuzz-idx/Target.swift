import FuzzSupport
import LoomIO

/// IDX images and labels (plain or gzip) through the readers and the dataset check.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ input: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  guard let data = input else { return 0 }
  let bytes = UnsafeRawBufferPointer(start: data, count: size)
  let (images, labels) = Scratch.split(bytes)
  let i = Scratch.write("images-idx3-ubyte", images)
  let l = Scratch.write("labels-idx1-ubyte", labels)
  do { _ = try IDX.readImages(path: i) } catch { Scratch.check(error) }
  do { _ = try IDX.readLabels(path: Scratch.write("whole-idx1-ubyte", bytes)) } catch { Scratch.check(error) }
  do {
    let d = try IDXDataset.load(imagesPath: i, labelsPath: l, datasetName: "fuzz", installHint: "")
    if d.count > 0 { _ = d.images.image(d.count - 1) }
  } catch { Scratch.check(error) }
  return 0
}

@main enum Main {
  static func main() { runFuzzer(fuzzOne) }
}
