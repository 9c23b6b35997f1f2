/**
 * The body of a log cleaner worker thread (piscina): one clean per task (runClean). It loads the
 * native addon and the codecs in its own thread; it shares nothing with the main thread but the
 * files, and only the `.cleaned` files it writes are new.
 */
import { runClean, type CleanResult, type CleanTask } from './cleaner-task.js';

export default function clean(task: CleanTask): CleanResult {
  return runClean(task);
}
