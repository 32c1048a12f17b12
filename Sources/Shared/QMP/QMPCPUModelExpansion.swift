/// `query-cpu-model-expansion` (qapi/machine-target.json, QEMU 7.2): what a
/// CPU model is made of, as properties.
extension QMP {
    public enum CPUModelExpansionType: String, Codable, Sendable {
        /// The model as `base` plus one boolean property per feature, under
        /// each feature's canonical name only: the form to compare models by.
        case `static`
        /// Every property, aliases (`sse4_1`, `sse4-1`) and non-feature
        /// switches (`check`, `kvm`, `l3-cache`) included.
        case full
    }

    /// A model and properties to apply to it.
    public struct CPUModelInfo: Codable, Sendable, Equatable {
        public var name: String
        /// Feature switches are booleans; a few properties (`family`,
        /// `vendor`, `model-id`) are numbers or strings.
        public var props: [String: QMPValue]?

        public init(name: String, props: [String: QMPValue]? = nil) {
            self.name = name
            self.props = props
        }

        /// The features switched on, by name, sorted.
        public var enabledFeatures: [String] {
            (props ?? [:]).compactMap { $0.value.boolValue == true ? $0.key : nil }.sorted()
        }
    }

    public struct CPUModelExpansionInfo: Codable, Sendable, Equatable {
        public var model: CPUModelInfo
        public init(model: CPUModelInfo) { self.model = model }
    }

    /// The command's arguments, also for callers that write QMP scripts
    /// (the agent's capability probe).
    public struct CPUModelExpansionArguments: Codable, Sendable, Equatable {
        public var type: CPUModelExpansionType
        public var model: CPUModelInfo

        public init(type: CPUModelExpansionType, model: CPUModelInfo) {
            self.type = type
            self.model = model
        }
    }
}

extension QMPClient {
    /// Expands a CPU model into its properties. A `static` expansion returns
    /// model `base` with every feature the named model has set to true, so
    /// the enabled features of two expansions compare directly.
    public func cpuModelExpansion(_ name: String, type: QMP.CPUModelExpansionType = .static) async throws -> QMP.CPUModelInfo {
        try await execute(
            "query-cpu-model-expansion", arguments: QMP.CPUModelExpansionArguments(type: type, model: QMP.CPUModelInfo(name: name)),
            returning: QMP.CPUModelExpansionInfo.self
        ).model
    }
}
