/**
 * Topic regexes of KIP-848 subscriptions (ConsumerGroupHeartbeat v1 SubscribedTopicRegex).
 *
 * Kafka compiles them with RE2/J and resolves them with full-match semantics (`matcher.matches()`).
 * franz compiles them as JavaScript regexes anchored at both ends, so the syntax the two share
 * means the same thing. Two RE2 forms that JavaScript reads differently are rewritten: the named
 * group `(?P<name>...)` becomes `(?<name>...)`, and a `]` first in a character class (`[]a]`,
 * `[^]a]`), a literal in RE2, is escaped, since JavaScript reads `[]` as a class that matches
 * nothing and `[^]` as one that matches anything.
 *
 * What RE2 refuses is refused here too: backreferences and lookaround. RE2 runs in linear time
 * whatever the pattern; JavaScript's backtracking engine does not, so a quantified group that
 * itself contains a quantifier or an alternation (`(a+)+`, `(a|aa)*`, the shapes that backtrack
 * exponentially) is refused as well. The checker reads character classes as the rewritten regex
 * does (else `[^](a+)+]`, one class to RE2, would run as `(a+)+` in JavaScript). A refusal's
 * reason goes into the INVALID_REGULAR_EXPRESSION error message.
 */

/** Compiles a subscription regex with full-match semantics, or returns why it is refused. */
export function compileTopicRegex(source: string): RegExp | string {
  if (/\\[1-9]|\\k</.test(source)) return 'backreferences are not supported';
  if (/\(\?<?[=!]/.test(source)) return 'lookaround is not supported';
  const risky = riskyRepetition(source);
  if (risky !== null) return risky;
  try {
    return new RegExp(`^(?:${toJavaScript(source)})$`);
  } catch (e) {
    return (e as Error).message;
  }
}

/** Rewrites the RE2 forms that JavaScript reads differently (see the header). */
function toJavaScript(src: string): string {
  let out = '';
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === '\\') {
      out += src.slice(i, i + 2);
      i++;
    } else if (c === '[') {
      let j = i + 1;
      out += '[';
      if (src[j] === '^') out += src[j++];
      if (src[j] === ']') {
        out += '\\]';
        j++;
      }
      while (j < src.length && src[j] !== ']') {
        const n = src[j] === '\\' ? 2 : 1;
        out += src.slice(j, j + n);
        j += n;
      }
      out += src.slice(j, j + 1); // the closing ']', absent when the class is not closed
      i = j;
    } else if (src.startsWith('(?P<', i)) {
      out += '(?<';
      i += 3;
    } else {
      out += c;
    }
  }
  return out;
}

/**
 * Finds a quantified group that itself contains a quantifier or an alternation; returns why it is
 * refused, or null. Escapes and character classes are skipped, since what they hold is literal.
 */
export function riskyRepetition(src: string): string | null {
  const stack: boolean[] = [];
  let inner = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '[') {
      // Skip a character class (a leading ']' or '^]' is literal).
      let j = i + 1;
      if (src[j] === '^') j++;
      if (src[j] === ']') j++;
      while (j < src.length && src[j] !== ']') j += src[j] === '\\' ? 2 : 1;
      i = j;
      continue;
    }
    if (c === '(') {
      stack.push(inner);
      inner = false;
    } else if (c === ')') {
      const quantified = /^[*+{]/.test(src.slice(i + 1));
      if (quantified && inner) return `repetition of a group that repeats or alternates at offset ${i + 1} is not supported`;
      const parent = stack.pop() ?? false;
      inner = parent || inner || quantified;
    } else if (c === '*' || c === '+' || c === '{' || c === '|') {
      inner = true;
    }
  }
  return null;
}
