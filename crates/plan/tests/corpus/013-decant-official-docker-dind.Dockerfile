FROM docker:27-cli

RUN set -eux; \
	apk add --no-cache \
		btrfs-progs \
		e2fsprogs \
		e2fsprogs-extra \
		ip6tables \
		iptables \
		openssl \
		shadow-uidmap \
		xfsprogs \
		xz \
		pigz \
		zfs \
	; \
# only install fuse-overlayfs on arches that support it
	apkArch="$(apk --print-arch)"; \
	case "$apkArch" in \
		x86_64 | aarch64) apk add --no-cache fuse-overlayfs ;; \
	esac

# dind might be used on systems where the nf_tables kernel module isn't available
RUN set -eux; \
	apk add --no-cache iptables-legacy; \
	mkdir -p /usr/local/sbin/.iptables-legacy; \
	for f in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do \
		b="$(command -v "${f/tables/tables-legacy}")"; \
		"$b" --version; \
		ln -svT "$b" "/usr/local/sbin/.iptables-legacy/$f"; \
	done

# set up subuid/subgid so that "--userns-remap=default" works out-of-the-box
RUN set -eux; \
	addgroup -S dockremap; \
	adduser -S -G dockremap dockremap; \
	echo 'dockremap:165536:65536' >> /etc/subuid; \
	echo 'dockremap:165536:65536' >> /etc/subgid

COPY dockerd-entrypoint.sh /usr/local/bin/

VOLUME /var/lib/docker
EXPOSE 2375 2376

ENTRYPOINT ["dockerd-entrypoint.sh"]
CMD []
