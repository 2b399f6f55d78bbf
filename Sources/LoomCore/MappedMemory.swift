/// An owner of file-mapped memory that tensors view (a safetensors file): it can give the
/// resident pages of a byte range back to the kernel — they are read from the file again if
/// touched — so a loader that has copied a weight out keeps only the copy in memory.
public protocol FileMappingOwner: AnyObject {
  /// Drops the resident pages lying wholly inside `bytes` (a range of the mapping).
  func discardResidentPages(_ bytes: UnsafeRawBufferPointer)
}

extension Tensor {
  /// After its values have been copied elsewhere: gives back the resident pages of this tensor's
  /// bytes when it views a file mapping (no-op otherwise). Pages written in place since the file
  /// was mapped would revert to the file's bytes, so only call it on a tensor nobody reads again
  /// (a checkpoint's weight once loaded).
  public func discardMappedPages() {
    guard let owner = storage.owner as? FileMappingOwner, storage.isHostMemory, isContiguous,
      count > 0
    else { return }
    owner.discardResidentPages(
      UnsafeRawBufferPointer(start: rawPointer, count: count * dtype.byteSize))
  }
}
