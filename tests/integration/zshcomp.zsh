# zshcomp.zsh FPATH_DIR PATH_DIR OUT LINE...: type each LINE into an
# interactive zsh on a pty, complete it with TAB, and append the line as it
# then stands to OUT.  A widget on C-t writes the line: no screen scraping,
# and no sleeps (each read waits for a word that only the command's output
# holds; the caller bounds the whole with timeout).
zmodload zsh/zpty || exit 1
zpty z zsh -f -i || exit 1
zpty -w z "PS1='>'; fpath=($1 \$fpath); path=($2 \$path); autoload -U compinit; compinit -u"
zpty -w z "dump() { print -r -- \"\$BUFFER\" >> ${(q)3}; BUFFER=; }; zle -N dump; bindkey '^T' dump"
# R''EADY: the echo of the command itself does not hold the word
zpty -w z "print R''EADY"
zpty -r z out '*READY*' || exit 1
shift 3
for line in "$@"; do
  # TAB completes before zle reads the C-t that follows
  zpty -w -n z "$line"$'\t\C-t'
done
zpty -w z "print D''ONE"
zpty -r z out '*DONE*' || exit 1
zpty -d z
