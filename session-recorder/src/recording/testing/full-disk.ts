// Test support: a file system that fills up. The returned opener (RecordingWriterOptions.openFile)
// creates the file as the writer would; its first `writes` writes go through (the header is the
// first), every later one fails with ENOSPC like a full disk.
import { open, type FileHandle } from 'node:fs/promises';

export function openFileFullAfter(writes: number): (path: string) => Promise<FileHandle> {
  let done = 0;
  return async (path) => {
    const handle = await open(path, 'wx');
    const realWrite = handle.write.bind(handle) as (...args: unknown[]) => Promise<unknown>;
    (handle as unknown as { write: (...args: unknown[]) => Promise<unknown> }).write = async (...args: unknown[]) => {
      if (++done > writes) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      return realWrite(...args);
    };
    return handle;
  };
}
