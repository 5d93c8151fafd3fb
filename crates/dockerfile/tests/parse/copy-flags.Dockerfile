FROM busybox
COPY --from=build --chown=app:app --chmod=0755 --link --parents --exclude=*.md --exclude=tmp a b /dst/
ADD --chown=1 --chmod=644 --link=false --keep-git-dir=true --checksum=sha256:abc --unpack=true --exclude=x https://example.com/a.tar /dst/
COPY -- --weird /dst
