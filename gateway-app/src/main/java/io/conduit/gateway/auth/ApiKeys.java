package io.conduit.gateway.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;

/** Key format {@code ck-} + 40 base62 characters (~238 bits). Stored only as SHA-256 plus a visible prefix. */
public final class ApiKeys {
    public static final String PREFIX = "ck-";
    private static final String ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    private static final SecureRandom RANDOM = new SecureRandom();

    private ApiKeys() {
    }

    public static String generate() {
        StringBuilder sb = new StringBuilder(PREFIX);
        for (int i = 0; i < 40; i++) sb.append(ALPHABET.charAt(RANDOM.nextInt(ALPHABET.length())));
        return sb.toString();
    }

    public static boolean looksLikeKey(String key) {
        return key != null && key.startsWith(PREFIX) && key.length() >= 12 && key.length() <= 200;
    }

    public static byte[] hash(String key) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** What listings show: enough to recognise a key, useless to an attacker. */
    public static String visiblePrefix(String key) {
        return key.substring(0, Math.min(key.length(), PREFIX.length() + 8));
    }
}
