#!/usr/bin/env node
/**
 * The `franz` executable. It only sizes libuv's thread pool and then loads the command
 * (main.ts). The pool is sized once, when it is first used, from UV_THREADPOOL_SIZE, and Node's
 * ES module loader reads modules through it before any of their code runs: set in an ES module,
 * the variable came too late and franz ran with the default 4 threads. This file is CommonJS,
 * which loads with synchronous reads, so the variable is in place first.
 *
 * 16 threads: the pool runs every log's group-commit fdatasync (one per log at a time, so many
 * at once with many partitions), the checkpoint writes and partition creation. Nothing on it
 * waits for a client (responses are written by the sender thread, native/src/sender.rs).
 */
process.env.UV_THREADPOOL_SIZE ??= '16';
void import('./main.js');
