/** Read a .zip in memory with fflate (no unpacking to disk): list names first, extract only what is asked. */
import * as fs from 'fs';
import { unzipSync } from 'fflate';
import { FerError, errorMessage } from '../../errors';

export class ZipArchive {
  /** Entry names (folders excluded), in archive order. */
  readonly names: string[];
  private constructor(readonly file: string, private readonly data: Uint8Array, names: string[]) {
    this.names = names;
  }

  static open(file: string): ZipArchive {
    const buf = fs.readFileSync(file);
    const data = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    const names: string[] = [];
    try {
      // A filter that keeps nothing walks the central directory only.
      unzipSync(data, {
        filter: (f) => {
          if (!f.name.endsWith('/')) names.push(f.name);
          return false;
        },
      });
    } catch (err) {
      throw new FerError(`${file} is not a readable .zip (${errorMessage(err)}); download it again or unpack it and pass the folder.`, {
        file,
        cause: err,
      });
    }
    return new ZipArchive(file, data, names);
  }

  /** The bytes of the wanted entries (by name). */
  extract(wanted: (name: string) => boolean): Record<string, Uint8Array> {
    try {
      return unzipSync(this.data, { filter: (f) => wanted(f.name) });
    } catch (err) {
      throw new FerError(`${this.file}: could not extract entries (${errorMessage(err)}); the zip may be damaged.`, {
        file: this.file,
        cause: err,
      });
    }
  }
}
