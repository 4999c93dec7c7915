export {
  NATIVE_PROTECTION_NAME,
  bestPacketProtection,
  nativePacketProtection,
  nativeProtectionStatus,
  probeNativeProtection,
  type NativeAddonModule,
  type NativeProtectionStatus,
  type PacketProtectionPreference,
} from './native-protection.js';
