# Sourced by ./conduit and .ci/run: exports JAVA_HOME pointing at a JDK 25 or newer.
# Order: $JAVA_HOME, the `java` on PATH, then the usual install locations.
conduit_java_major() {
  "$1/bin/java" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2; exit}'
}
conduit_find_jdk25() {
  local candidates=()
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  if command -v javac >/dev/null 2>&1; then
    candidates+=("$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")")
  fi
  local d
  for d in /usr/lib/jvm/* /opt/java/* /opt/jdk* "$HOME"/.sdkman/candidates/java/* "$HOME"/.jdks/*; do
    [ -d "$d" ] && candidates+=("$d")
  done
  for d in "${candidates[@]}"; do
    [ -x "$d/bin/java" ] && [ -x "$d/bin/javac" ] || continue
    local major; major=$(conduit_java_major "$d")
    if [ -n "$major" ] && [ "${major%%.*}" -ge 25 ] 2>/dev/null; then
      echo "$d"; return 0
    fi
  done
  return 1
}
if ! CONDUIT_JDK=$(conduit_find_jdk25); then
  echo "conduit: no JDK 25 found. Install one (e.g. Temurin 25) or set JAVA_HOME to it." >&2
  exit 1
fi
export JAVA_HOME="$CONDUIT_JDK"
export PATH="$JAVA_HOME/bin:$PATH"
