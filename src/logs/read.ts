/**
 * Byte inputs for the log reader: a plain file (read in large chunks into reused buffers), a
 * gzip file (detected by its magic bytes, not its name), standard input, and a followed file
 * (`tail -F`: reopened when rotated or truncated). Each yields raw chunks; lines are cut later.
 */
import { createReadStream, type Stats } from 'node:fs'
import { open, stat } from 'node:fs/promises'
import { setTimeout as delay } from 'node:timers/promises'
import { createGunzip } from 'node:zlib'

/** How far an input got, for progress and error reports. */
export interface InputProgress {
  /** Bytes of the file consumed so far (compressed bytes for gzip). */
  bytesRead: number
  /** File size at open (0 for stdin); grows while following. */
  totalBytes: number
  /** Set when the input broke (truncated gzip, read error): what happened and where. */
  error: { code: string; message: string; position: number } | undefined
}

/** Chunk size of plain-file reads: large enough that per-chunk overhead vanishes. */
const CHUNK_BYTES = 1 << 22

/** Code recorded when a gzip stream ends early or is corrupt. */
export const LOG_GZIP_TRUNCATED = 'HG_LOG_GZIP_TRUNCATED'
/** Code recorded when a file cannot be read. */
export const LOG_READ_FAILED = 'HG_LOG_READ_FAILED'

/** Options of {@link readInput}. */
export interface ReadInputOptions {
  readonly signal?: AbortSignal | undefined
  /** Keep reading as the file grows, reopening it when rotated. @default false */
  readonly follow?: boolean | undefined
  /** How often a followed file is polled for growth or rotation. @default 250 */
  readonly pollMs?: number | undefined
}

/**
 * Raw chunks of `file` (`-` for standard input), decompressed when it is gzip. Never throws for
 * a broken input: the error lands in `progress.error` and the chunks before it are yielded.
 * Chunks may be reused buffers: consume each before asking for the next.
 */
export async function* readInput(
  file: string,
  progress: InputProgress,
  options: ReadInputOptions = {},
): AsyncGenerator<Buffer> {
  const signal = options.signal
  if (file === '-') {
    yield* streamChunks(process.stdin, progress, signal)
    return
  }
  let fh
  let st: Stats
  try {
    fh = await open(file, 'r')
    st = await fh.stat()
  } catch (err) {
    progress.error = {
      code: LOG_READ_FAILED,
      message: `cannot open: ${(err as Error).message}`,
      position: 0,
    }
    return
  }
  progress.totalBytes = st.size
  const head = Buffer.alloc(2)
  const { bytesRead: h } = await fh.read(head, 0, 2, 0)
  if (h === 2 && head[0] === 0x1f && head[1] === 0x8b) {
    await fh.close()
    yield* gzipChunks(file, progress, signal)
    return
  }
  // Two buffers alternate so that the previous chunk stays intact while the next is read.
  const bufs = [Buffer.allocUnsafe(CHUNK_BYTES), Buffer.allocUnsafe(CHUNK_BYTES)]
  let which = 0
  let position = 0
  let ino = st.ino
  try {
    for (;;) {
      if (signal?.aborted) return
      const buf = bufs[which] as Buffer
      which ^= 1
      const { bytesRead } = await fh.read(buf, 0, buf.length, position)
      if (bytesRead > 0) {
        position += bytesRead
        progress.bytesRead = position
        if (position > progress.totalBytes) progress.totalBytes = position
        yield buf.subarray(0, bytesRead)
        continue
      }
      if (options.follow !== true) return
      // EOF while following: wait, then look for growth, truncation or rotation.
      try {
        await delay(options.pollMs ?? 250, undefined, { signal })
      } catch {
        return
      }
      let now: Stats | undefined
      try {
        now = await stat(file)
      } catch {
        continue // rotated away and not yet recreated
      }
      if (now.ino !== ino || now.size < position) {
        // rotation: anything appended to the old file before the move was already read above
        // (we only get here at its EOF); continue with the new file from its start
        await fh.close()
        fh = await open(file, 'r')
        ino = (await fh.stat()).ino
        position = 0
        progress.totalBytes = now.size
      }
    }
  } catch (err) {
    progress.error = {
      code: LOG_READ_FAILED,
      message: `read failed at byte ${position}: ${(err as Error).message}`,
      position,
    }
  } finally {
    await fh.close().catch(() => undefined)
  }
}

async function* gzipChunks(
  file: string,
  progress: InputProgress,
  signal: AbortSignal | undefined,
): AsyncGenerator<Buffer> {
  const raw = createReadStream(file, { highWaterMark: 1 << 20 })
  const gunzip = createGunzip({ chunkSize: 1 << 20 })
  raw.on('error', (err) => gunzip.destroy(err))
  raw.pipe(gunzip)
  try {
    for await (const chunk of gunzip) {
      if (signal?.aborted) break
      progress.bytesRead = gunzip.bytesWritten
      yield chunk as Buffer
    }
    progress.bytesRead = progress.totalBytes
  } catch (err) {
    const position = gunzip.bytesWritten
    const e = err as NodeJS.ErrnoException
    const what =
      e.code === 'Z_BUF_ERROR' ? 'gzip stream truncated' : `gzip stream corrupt (${e.message})`
    progress.error = {
      code: LOG_GZIP_TRUNCATED,
      message: `${what} at compressed byte ${position} of ${progress.totalBytes}; everything before it was analysed`,
      position,
    }
  } finally {
    raw.destroy()
    gunzip.destroy()
  }
}

async function* streamChunks(
  stream: NodeJS.ReadableStream,
  progress: InputProgress,
  signal: AbortSignal | undefined,
): AsyncGenerator<Buffer> {
  let first = true
  let gunzip: ReturnType<typeof createGunzip> | undefined
  try {
    for await (const c of stream) {
      if (signal?.aborted) break
      const chunk = typeof c === 'string' ? Buffer.from(c) : (c as Buffer)
      if (first) {
        first = false
        if (chunk[0] === 0x1f && chunk[1] === 0x8b) {
          // gzip on stdin: hand the stream to gunzip from here on
          gunzip = createGunzip({ chunkSize: 1 << 20 })
          gunzip.write(chunk)
          stream.pipe(gunzip)
          for await (const d of gunzip) {
            if (signal?.aborted) break
            progress.bytesRead = gunzip.bytesWritten
            yield d as Buffer
          }
          return
        }
      }
      progress.bytesRead += chunk.length
      yield chunk
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    progress.error = {
      code: gunzip === undefined ? LOG_READ_FAILED : LOG_GZIP_TRUNCATED,
      message:
        gunzip === undefined
          ? `read failed: ${e.message}`
          : `gzip stream truncated at compressed byte ${gunzip.bytesWritten}; everything before it was analysed`,
      position: gunzip?.bytesWritten ?? progress.bytesRead,
    }
  }
}
