<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name></name>
    <message>
        <source>System prompt</source>
        <translation type="obsolete">系统提示词</translation>
    </message>
</context>
<context>
    <name>AppearanceSection</name>
    <message>
        <location filename="../../desktop/settings/sections.py" line="+311"/>
        <location line="+9"/>
        <source>Same as the system</source>
        <translation>跟随系统</translation>
    </message>
    <message>
        <location line="-9"/>
        <source>Light</source>
        <translation>浅色</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Dark</source>
        <translation>深色</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Theme</source>
        <translation>主题</translation>
    </message>
    <message>
        <location line="+3"/>
        <source> pt</source>
        <translation> 磅</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Text size</source>
        <translation>文字大小</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Language</source>
        <translation>语言</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The new language takes effect when Ponder restarts.</source>
        <translation>新的语言将在 Ponder 重新启动后生效。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Display</source>
        <translation>显示</translation>
    </message>
</context>
<context>
    <name>ChatPage</name>
    <message>
        <source>Search conversations</source>
        <translation type="vanished">搜索对话</translation>
    </message>
    <message>
        <source>New chat</source>
        <translation type="vanished">新对话</translation>
    </message>
    <message>
        <source>The model that answers</source>
        <translation type="vanished">回答所用的模型</translation>
    </message>
    <message>
        <source>System prompt…</source>
        <translation type="vanished">系统提示词…</translation>
    </message>
    <message>
        <source>Model:</source>
        <translation type="vanished">模型：</translation>
    </message>
    <message>
        <source>Answer now</source>
        <translation type="vanished">立即回答</translation>
    </message>
    <message>
        <source>End the reasoning here; the model answers with what it has</source>
        <translation type="vanished">在此结束推理；模型将根据已有的思考直接回答</translation>
    </message>
    <message>
        <source>Editing a message: Enter resends it (later messages are replaced), Esc cancels</source>
        <translation type="vanished">正在编辑消息：按 Enter 重新发送（之后的消息将被替换），按 Esc 取消</translation>
    </message>
    <message>
        <source>Ask anything — Enter sends, Shift+Enter adds a line</source>
        <translation type="vanished">有问题尽管问——按 Enter 发送，Shift+Enter 换行</translation>
    </message>
    <message>
        <source>Send</source>
        <translation type="vanished">发送</translation>
    </message>
    <message>
        <source>Install a model first (Models page)</source>
        <translation type="vanished">请先安装一个模型（“模型”页面）</translation>
    </message>
    <message>
        <source>Rename…</source>
        <translation type="vanished">重命名…</translation>
    </message>
    <message>
        <source>Export as Markdown…</source>
        <translation type="vanished">导出为 Markdown…</translation>
    </message>
    <message>
        <source>Export as JSON…</source>
        <translation type="vanished">导出为 JSON…</translation>
    </message>
    <message>
        <source>Delete</source>
        <translation type="vanished">删除</translation>
    </message>
    <message>
        <source>Rename</source>
        <translation type="vanished">重命名</translation>
    </message>
    <message>
        <source>Title:</source>
        <translation type="vanished">标题：</translation>
    </message>
    <message>
        <source>Delete this conversation?</source>
        <translation type="vanished">删除此对话？</translation>
    </message>
    <message>
        <source>Export</source>
        <translation type="vanished">导出</translation>
    </message>
    <message>
        <location filename="../../desktop/chat/page.py" line="+253"/>
        <source>System prompt</source>
        <translation>系统提示词</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>For this conversation only:</source>
        <translation>仅用于此对话：</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation type="vanished">停止</translation>
    </message>
    <message>
        <location line="-59"/>
        <source>The next reply comes from {0}: it reads this conversation from the start, so it begins slower; earlier replies stay as {1} wrote them.</source>
        <translation>下一条回复由 {0} 生成：它会从头读取本对话，因此开始得较慢；之前的回复保持 {1} 写下的样子。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{0} is unloaded to make room.</source>
        <translation>{0} 将被卸载以腾出内存。</translation>
    </message>
    <message>
        <source>Some documents are still being indexed; this answer uses the ones ready.</source>
        <translation type="vanished">部分文档仍在建立索引；此回答只使用已就绪的文档。</translation>
    </message>
    <message>
        <source>The reasoning is going in circles. Press “Answer now” or Stop.</source>
        <translation type="vanished">推理陷入了循环。请按“立即回答”或“停止”。</translation>
    </message>
    <message>
        <source>The reply failed</source>
        <translation type="vanished">回复失败</translation>
    </message>
</context>
<context>
    <name>CompareView</name>
    <message>
        <location filename="../../desktop/chat/compare.py" line="+97"/>
        <source>Left model</source>
        <translation>左侧模型</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Right model</source>
        <translation>右侧模型</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Compare: one question, two models side by side</source>
        <translation>对比：同一个问题，两个模型并排回答</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Question for both models</source>
        <translation>给两个模型的问题</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Ask both models — Enter sends</source>
        <translation>向两个模型提问——按 Enter 发送</translation>
    </message>
    <message>
        <location line="+3"/>
        <location line="+78"/>
        <source>Ask both</source>
        <translation>同时提问</translation>
    </message>
    <message>
        <location line="-76"/>
        <source>Ask both models</source>
        <translation>向两个模型提问</translation>
    </message>
    <message>
        <location line="+65"/>
        <source>Stop</source>
        <translation>停止</translation>
    </message>
</context>
<context>
    <name>Composer</name>
    <message>
        <location filename="../../desktop/chat/composer.py" line="+53"/>
        <location line="+28"/>
        <source>Answer now</source>
        <translation>立即回答</translation>
    </message>
    <message>
        <location line="-27"/>
        <source>End the reasoning here; the model answers with what it has</source>
        <translation>在此结束推理；模型将根据已有的思考直接回答</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Editing a message: Enter resends it (later messages are replaced), Esc cancels</source>
        <translation>正在编辑消息：按 Enter 重新发送（之后的消息将被替换），按 Esc 取消</translation>
    </message>
    <message>
        <location line="+9"/>
        <location line="+35"/>
        <source>Ask anything — Enter sends, Shift+Enter adds a line</source>
        <translation>有问题尽管问——按 Enter 发送，Shift+Enter 换行</translation>
    </message>
    <message>
        <location line="-34"/>
        <source>Message</source>
        <translation>消息</translation>
    </message>
    <message>
        <location line="+4"/>
        <location line="+42"/>
        <source>Send</source>
        <translation>发送</translation>
    </message>
    <message>
        <location line="-40"/>
        <source>Send or stop</source>
        <translation>发送或停止</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Send (Enter); while a reply runs: Stop (Esc)</source>
        <translation>发送（Enter）；回复生成中：停止（Esc）</translation>
    </message>
    <message>
        <location line="+28"/>
        <source>Install a model first (Models page)</source>
        <translation>请先安装一个模型（“模型”页面）</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Stop</source>
        <translation>停止</translation>
    </message>
</context>
<context>
    <name>ConversationList</name>
    <message>
        <location filename="../../desktop/chat/sidebar.py" line="+48"/>
        <source>Yesterday</source>
        <translation>昨天</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{0} days ago</source>
        <translation>{0} 天前</translation>
    </message>
    <message>
        <location line="+52"/>
        <location line="+1"/>
        <source>Search conversations</source>
        <translation>搜索对话</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Clear search</source>
        <translation>清除搜索</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Search</source>
        <translation>搜索</translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+2"/>
        <source>New chat</source>
        <translation>新对话</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Start a new conversation (Ctrl+N)</source>
        <translation>开始新对话（Ctrl+N）</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Conversations</source>
        <translation>对话</translation>
    </message>
    <message>
        <location line="+6"/>
        <location line="+27"/>
        <source>No conversations yet</source>
        <translation>还没有对话</translation>
    </message>
    <message>
        <location line="-1"/>
        <source>No conversation matches</source>
        <translation>没有匹配的对话</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Rename…</source>
        <translation>重命名…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Export as Markdown…</source>
        <translation>导出为 Markdown…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Export as JSON…</source>
        <translation>导出为 JSON…</translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+16"/>
        <source>Delete</source>
        <translation>删除</translation>
    </message>
    <message>
        <location line="-10"/>
        <source>Rename</source>
        <translation>重命名</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Title:</source>
        <translation>标题：</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Delete this conversation?</source>
        <translation>删除此对话？</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Export</source>
        <translation>导出</translation>
    </message>
</context>
<context>
    <name>DocumentsBar</name>
    <message>
        <location filename="../../desktop/documents/panel.py" line="+99"/>
        <source>The documents this conversation answers from</source>
        <translation>此对话据以回答的文档</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Add documents…</source>
        <translation>添加文档…</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Or drop files and folders on the chat: PDF, Word, text, Markdown, HTML</source>
        <translation>也可以把文件或文件夹拖到对话中：PDF、Word、文本、Markdown、HTML</translation>
    </message>
    <message>
        <location line="+15"/>
        <location line="+54"/>
        <source>Pause</source>
        <translation>暂停</translation>
    </message>
    <message>
        <location line="-52"/>
        <source>Files…</source>
        <translation>文件…</translation>
    </message>
    <message>
        <location line="+116"/>
        <source>Documents ({0});;All files (*)</source>
        <translation>文档 ({0});;所有文件 (*)</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Get the embedding model ({0}, {1} MB)</source>
        <translation>获取嵌入模型（{0}，{1} MB）</translation>
    </message>
    <message>
        <location line="-114"/>
        <source>Documents:</source>
        <translation>文档：</translation>
    </message>
    <message>
        <location line="-23"/>
        <source>Documents</source>
        <translation>文档</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Indexing state</source>
        <translation>索引状态</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Indexing progress</source>
        <translation>索引进度</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Get the embedding model</source>
        <translation>获取嵌入模型</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Pause or resume indexing</source>
        <translation>暂停或继续索引</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Files of this collection</source>
        <translation>此文档集的文件</translation>
    </message>
    <message>
        <location line="+31"/>
        <source>None</source>
        <translation>无</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>Resume</source>
        <translation>继续</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>paused</source>
        <translation>已暂停</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>{0} indexed</source>
        <translation>已索引 {0} 个</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{0} waiting</source>
        <translation>{0} 个等待中</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{0} failed (see Files…)</source>
        <translation>{0} 个失败（见“文件…”）</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>{0} failed: {1}</source>
        <translation>{0} 失败：{1}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{0} of {1}: {2} — searchable; improving</source>
        <translation>第 {0}/{1} 个：{2} — 已可搜索；正在完善</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Indexing {0} of {1}: {2} — {3}%</source>
        <translation>正在索引第 {0}/{1} 个：{2} — {3}%</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Indexing {0} of {1}: {2}</source>
        <translation>正在索引第 {0}/{1} 个：{2}</translation>
    </message>
    <message>
        <location line="-109"/>
        <location line="+129"/>
        <source>Add documents</source>
        <translation>添加文档</translation>
    </message>
    <message>
        <source>Documents (*.pdf *.docx *.txt *.md *.markdown *.html *.htm);;All files (*)</source>
        <translation type="vanished">文档 (*.pdf *.docx *.txt *.md *.markdown *.html *.htm);;所有文件 (*)</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>Stopped; press again to continue the download.</source>
        <translation>已停止；再按一次可继续下载。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Downloading the embedding model: {0} of {1} MB</source>
        <translation>正在下载嵌入模型：{0}/{1} MB</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Preparing the embedding model…</source>
        <translation>正在准备嵌入模型…</translation>
    </message>
    <message>
        <location line="-58"/>
        <source>Indexing {0} of {1}: {2} — reading scanned page {3} of {4} (OCR)</source>
        <translation>正在索引第 {0}/{1} 个：{2} — 正在识别扫描页 {3}/{4}（OCR）</translation>
    </message>
</context>
<context>
    <name>DocumentsSection</name>
    <message>
        <location filename="../../desktop/settings/documents.py" line="+39"/>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Languages</source>
        <translation>语言</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>License</source>
        <translation>许可证</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Size</source>
        <translation>大小</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+57"/>
        <source>Get</source>
        <translation>获取</translation>
    </message>
    <message>
        <location line="-55"/>
        <source>Use</source>
        <translation>使用</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Documents are searched with an embedding model that runs on this computer. The default understands Chinese and English (also a question in one about a document in the other). Switching models indexes your documents again.</source>
        <translation>文档通过在本机运行的嵌入模型进行检索。默认模型理解中文和英文（也可以用一种语言提问另一种语言的文档）。切换模型会重新为你的文档建立索引。</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Embedding model</source>
        <translation>嵌入模型</translation>
    </message>
    <message>
        <location line="+18"/>
        <source>In use</source>
        <translation>使用中</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Installed</source>
        <translation>已安装</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>(default)</source>
        <translation>（默认）</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Stopped; press Get again to continue the download.</source>
        <translation>已停止；再次点击“获取”可继续下载。</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>Downloading: {0} of {1} MB</source>
        <translation>正在下载：{0}/{1} MB</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Preparing the model…</source>
        <translation>正在准备模型…</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>{0} is ready.</source>
        <translation>{0} 已就绪。</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>Documents now use {0}; they are indexed again in the background.</source>
        <translation>文档现在使用 {0}；正在后台重新建立索引。</translation>
    </message>
</context>
<context>
    <name>DownloadsBox</name>
    <message>
        <location filename="../../desktop/models/downloads.py" line="+326"/>
        <source>Downloads</source>
        <translation>下载</translation>
    </message>
</context>
<context>
    <name>DropTarget</name>
    <message>
        <location filename="../../desktop/chat/drop.py" line="+20"/>
        <source>Drop files here</source>
        <translation>将文件拖放到此处</translation>
    </message>
    <message>
        <location line="+3"/>
        <location line="+24"/>
        <source>Drop to add to this conversation&apos;s documents</source>
        <translation>松开即可添加到本对话的文档</translation>
    </message>
    <message>
        <location line="-18"/>
        <source>PDF, Word, text, Markdown and HTML files, or folders. They are indexed on this computer; answers cite them.</source>
        <translation>PDF、Word、文本、Markdown 和 HTML 文件或文件夹。它们在本机上建立索引；回答会引用它们。</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>Drop {0} items to add to this conversation&apos;s documents</source>
        <translation>松开即可将 {0} 项添加到本对话的文档</translation>
    </message>
</context>
<context>
    <name>EmptyState</name>
    <message>
        <location filename="../../desktop/chat/empty.py" line="+16"/>
        <source>What would you like to think through?</source>
        <translation>今天想深入思考什么？</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Everything stays on this computer. Reasoning models think first: watch the thought live, or press Answer now.
Drop PDFs or notes here to ask about them.

Ctrl+N new chat · Ctrl+K search · Ctrl+. stop · Ctrl+R regenerate · Ctrl+Shift+C copy the last answer · Ctrl+, settings</source>
        <translation>一切都留在这台电脑上。推理模型会先思考：可以实时查看思考过程，或按“立即回答”。
把 PDF 或笔记拖到这里即可就其提问。

Ctrl+N 新对话 · Ctrl+K 搜索 · Ctrl+. 停止 · Ctrl+R 重新生成 · Ctrl+Shift+C 复制最后一个回答 · Ctrl+, 设置</translation>
    </message>
</context>
<context>
    <name>FilesDialog</name>
    <message>
        <location filename="../../desktop/documents/panel.py" line="-156"/>
        <source>Documents in “{0}”</source>
        <translation>“{0}”中的文档</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>File</source>
        <translation>文件</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Details</source>
        <translation>详情</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Remove from the collection</source>
        <translation>从文档集中移除</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>indexed</source>
        <translation>已索引</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>waiting</source>
        <translation>等待中</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{0} passages</source>
        <translation>{0} 个段落</translation>
    </message>
</context>
<context>
    <name>GenerationSection</name>
    <message>
        <location filename="../../desktop/settings/sections.py" line="-257"/>
        <source>Higher is more varied, lower more focused; 0 always picks the most likely word.</source>
        <translation>越高越多样，越低越专注；为 0 时总是选择最可能的词。</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Only the most likely words that together reach this probability are considered.</source>
        <translation>只考虑累计概率达到此值的最可能的词。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>The longest reply, thinking included, in tokens.</source>
        <translation>回复（含思考过程）的最大长度，以词元计。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>How much of the conversation the model sees, in tokens; longer needs more memory.</source>
        <translation>模型能看到的对话长度，以词元计；越长需要的内存越多。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Temperature</source>
        <translation>温度</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Top-p</source>
        <translation>Top-p</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Maximum reply length</source>
        <translation>最大回复长度</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Context length</source>
        <translation>上下文长度</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Optional instructions the model gets at the start of every new conversation.</source>
        <translation>可选：每个新对话开始时给模型的指示。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>System prompt</source>
        <translation>系统提示词</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Restore defaults</source>
        <translation>恢复默认值</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Defaults for new conversations</source>
        <translation>新对话的默认设置</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>A conversation can change these for itself in the chat window.</source>
        <translation>每个对话都可以在聊天窗口中单独修改这些设置。</translation>
    </message>
</context>
<context>
    <name>HardwareSection</name>
    <message>
        <location filename="../../desktop/settings/hardware.py" line="+84"/>
        <source>Processor</source>
        <translation>处理器</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Cores</source>
        <translation>核心</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Instruction sets</source>
        <translation>指令集</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Memory</source>
        <translation>内存</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Graphics</source>
        <translation>显卡</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>System</source>
        <translation>系统</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Checking…</source>
        <translation>正在检查…</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>This computer</source>
        <translation>这台电脑</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Check again</source>
        <translation>重新检查</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>ONNX Runtime providers</source>
        <translation>ONNX Runtime 执行提供程序</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Automatic (best available)</source>
        <translation>自动（最佳可用）</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>CPU</source>
        <translation>CPU</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>NVIDIA CUDA</source>
        <translation>NVIDIA CUDA</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>DirectML (Windows GPUs)</source>
        <translation>DirectML（Windows 显卡）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Core ML (Apple)</source>
        <translation>Core ML（Apple）</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Run models on</source>
        <translation>运行模型的设备</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Automatic</source>
        <translation>自动</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>How many CPU threads a model uses; 0 = one per physical core.</source>
        <translation>模型使用的 CPU 线程数；0 = 每个物理核心一个。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>CPU threads</source>
        <translation>CPU 线程数</translation>
    </message>
    <message>
        <location line="+3"/>
        <source> min</source>
        <translation> 分钟</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Never</source>
        <translation>从不</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>A loaded model that is not used for this long is released, and loaded again by the next message; 0 keeps it loaded.</source>
        <translation>已加载的模型在这段时间内未被使用就会被释放，下一条消息会重新加载它；0 表示一直保持加载。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Unload an idle model after</source>
        <translation>空闲模型卸载时间</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Where models run</source>
        <translation>模型在哪里运行</translation>
    </message>
    <message>
        <location line="+4"/>
        <location line="+11"/>
        <source>Speed test</source>
        <translation>速度测试</translation>
    </message>
    <message>
        <location line="+27"/>
        <source>Could not look at the hardware: {error}</source>
        <translation>无法检查硬件：{error}</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>{physical} physical, {logical} logical</source>
        <translation>{physical} 个物理核心，{logical} 个逻辑核心</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>none of note</source>
        <translation>无特别指令集</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{total} in total, {free} available</source>
        <translation>共 {total}，可用 {free}</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>No supported GPU found</source>
        <translation>未找到受支持的显卡</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{os}, ONNX Runtime {version}</source>
        <translation>{os}，ONNX Runtime {version}</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>✓ Works</source>
        <translation>✓ 可用</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>✗ Not available</source>
        <translation>✗ 不可用</translation>
    </message>
    <message>
        <location line="+32"/>
        <source>Checking which providers start here…</source>
        <translation>正在检查哪些执行提供程序可以在这里启动…</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Models will run on {provider}.</source>
        <translation>模型将在 {provider} 上运行。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>{reason} Models will run on the CPU instead.</source>
        <translation>{reason} 模型将改为在 CPU 上运行。</translation>
    </message>
    <message>
        <location line="+42"/>
        <source>Install a model first (Models page): the speed test runs an installed model.</source>
        <translation>请先安装一个模型（“模型”页面）：速度测试需要运行已安装的模型。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Looking at this computer…</source>
        <translation>正在检查这台电脑…</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Measure how fast {model} writes on each provider tried (decode tokens per second).</source>
        <translation>测量 {model} 在每个执行提供程序上的生成速度（每秒解码词元数）。</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Testing {model}…</source>
        <translation>正在测试 {model}…</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>{asked} → {used}</source>
        <translation>{asked} → {used}</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{provider}: {value:.1f} tokens/s</source>
        <translation>{provider}：每秒 {value:.1f} 个词元</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{provider}: failed ({error})</source>
        <translation>{provider}：失败（{error}）</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Decode speed of {model} (128-token prompt, 32 new tokens).</source>
        <translation>{model} 的解码速度（128 个词元的提示，生成 32 个新词元）。</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>The speed test failed: {error}</source>
        <translation>速度测试失败：{error}</translation>
    </message>
</context>
<context>
    <name>HubAddBox</name>
    <message>
        <location filename="../../desktop/models/hub_add.py" line="+33"/>
        <source>owner/name, e.g. Qwen/Qwen3-4B (optionally @revision)</source>
        <translation>所有者/名称，例如 Qwen/Qwen3-4B（可加 @版本）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Hugging Face repository</source>
        <translation>Hugging Face 仓库</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Check</source>
        <translation>检查</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Get</source>
        <translation>获取</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Add from Hugging Face:</source>
        <translation>从 Hugging Face 添加：</translation>
    </message>
    <message>
        <location line="+26"/>
        <source>Type a repository as owner/name, e.g. Qwen/Qwen3-4B.</source>
        <translation>请按 所有者/名称 的格式输入仓库，例如 Qwen/Qwen3-4B。</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Checking {0}…</source>
        <translation>正在检查 {0}…</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>{0}: {1}, {2} parameters, licence {3}. Download {4}; {5} on disk after conversion; converting needs {6} of memory, running {7}.</source>
        <translation>{0}：{1}，{2} 参数，许可证 {3}。下载 {4}；转换后占用磁盘 {5}；转换需要 {6} 内存，运行需要 {7}。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>not declared</source>
        <translation>未声明</translation>
    </message>
</context>
<context>
    <name>JobPanel</name>
    <message>
        <location filename="../../desktop/models/downloads.py" line="-102"/>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <location line="+29"/>
        <source>Download</source>
        <translation>下载</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Convert</source>
        <translation>转换</translation>
    </message>
    <message>
        <source>Quantize</source>
        <translation type="vanished">量化</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Install</source>
        <translation>安装</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>{0} of {1}</source>
        <translation>{0} / {1}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{0}/s</source>
        <translation>{0}/秒</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>about {0} min left</source>
        <translation>约剩 {0} 分钟</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>about {0} s left</source>
        <translation>约剩 {0} 秒</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Step {0} of {1}</source>
        <translation>第 {0} 步，共 {1} 步</translation>
    </message>
    <message>
        <location line="+18"/>
        <source>Running in another process (pid {0}), e.g. &apos;ponder pull&apos; in a terminal; its progress shows here, and if it stops, Resume continues it here.</source>
        <translation>正在另一个进程中运行（pid {0}），例如终端里的“ponder pull”；进度显示在这里，如果它停止，可在此点击“继续”接着下载。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Pausing…</source>
        <translation>正在暂停…</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Cancelling…</source>
        <translation>正在取消…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Paused at {0} of {1} — Resume continues where it stopped.</source>
        <translation>已暂停于 {0} / {1}——“继续”将从中断处接着进行。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Paused — Resume continues where it stopped.</source>
        <translation>已暂停——“继续”将从中断处接着进行。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Failed: {0}</source>
        <translation>失败：{0}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Starting…</source>
        <translation>正在开始…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Pause</source>
        <translation>暂停</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Retry</source>
        <translation>重试</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Resume</source>
        <translation>继续</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Pause it where it runs.</source>
        <translation>请在它运行的地方暂停。</translation>
    </message>
    <message>
        <source>Offline mode is on: turn it off in Settings to download.</source>
        <translation type="vanished">离线模式已开启：请在“设置”中关闭后再下载。</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../../desktop/app.py" line="+60"/>
        <source>Chat</source>
        <translation>聊天</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Conversations (Ctrl+N for a new one)</source>
        <translation>对话（Ctrl+N 新建）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Models</source>
        <translation>模型</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Find, download and manage models</source>
        <translation>查找、下载和管理模型</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Hardware, generation, privacy, appearance (Ctrl+,)</source>
        <translation>硬件、生成、隐私、外观（Ctrl+,）</translation>
    </message>
    <message>
        <location line="+23"/>
        <source>Hardware of the last reply</source>
        <translation>上一条回复所用的硬件</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Generation speed</source>
        <translation>生成速度</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>&amp;Chat</source>
        <translation>对话(&amp;C)</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;Help</source>
        <translation>帮助(&amp;H)</translation>
    </message>
    <message>
        <location line="+0"/>
        <location line="+24"/>
        <source>About Ponder</source>
        <translation>关于 Ponder</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Private AI on your own computer.

What leaves this computer: nothing, except what you ask for. Ponder connects to the network only to download a model or an embedding model (from huggingface.co or the Hub address in Settings) and to chat with a remote engine you added. Conversations, documents and keys stay here; ONNX Runtime&apos;s and the Hugging Face libraries&apos; telemetry is switched off. Settings › Privacy and network lists every connection and has an offline switch.

ONNX Runtime {0}
Data folder: {1}</source>
        <translation>在你自己的电脑上运行的私密 AI。

哪些内容会离开这台电脑：除了你要求的，什么都不会。Ponder 只在下载模型或嵌入模型（来自 huggingface.co 或设置中的 Hub 地址）以及与你添加的远程引擎对话时才联网。对话、文档和密钥都留在这里；ONNX Runtime 和 Hugging Face 库的遥测已关闭。设置 › 隐私与网络 列出每一次连接，并提供离线开关。

ONNX Runtime {0}
数据文件夹：{1}</translation>
    </message>
    <message>
        <source>Private AI on your own computer.

ONNX Runtime {0}
Data folder: {1}</source>
        <translation type="vanished">在你自己的电脑上运行的私人 AI。

ONNX Runtime {0}
数据文件夹：{1}</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>{0} is ready.</source>
        <translation>{0} 已就绪。</translation>
    </message>
    <message>
        <source>Loading {0}…</source>
        <translation type="vanished">正在加载 {0}…</translation>
    </message>
    <message>
        <source>{0} loaded in {1:.1f} s.</source>
        <translation type="vanished">{0} 已加载，用时 {1:.1f} 秒。</translation>
    </message>
    <message>
        <location line="+28"/>
        <source>{0} was unloaded after being idle; the next message loads it again.</source>
        <translation>{0} 因空闲已被卸载；下一条消息会重新加载它。</translation>
    </message>
    <message>
        <location line="+20"/>
        <source>{0:.1f} tokens/s</source>
        <translation>{0:.1f} 词元/秒</translation>
    </message>
    <message>
        <source>context {0} / {1}</source>
        <translation type="vanished">上下文 {0} / {1}</translation>
    </message>
</context>
<context>
    <name>ModelHeader</name>
    <message>
        <location filename="../../desktop/chat/header.py" line="+68"/>
        <location line="+81"/>
        <source>The model that answers</source>
        <translation>回答所用的模型</translation>
    </message>
    <message>
        <location line="-80"/>
        <source>System prompt…</source>
        <translation>系统提示词…</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>System prompt</source>
        <translation>系统提示词</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Model state</source>
        <translation>模型状态</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Loading progress</source>
        <translation>加载进度</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Unload</source>
        <translation>卸载</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Unload the model</source>
        <translation>卸载模型</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Free the memory the model takes; the next message loads it again</source>
        <translation>释放模型占用的内存；下一条消息会重新加载它</translation>
    </message>
    <message>
        <location line="+5"/>
        <location line="+2"/>
        <source>Context used</source>
        <translation>已用上下文</translation>
    </message>
    <message>
        <location line="+70"/>
        <source>Reasoning</source>
        <translation>推理</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Reasoning controls</source>
        <translation>推理设置</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Thinking budget, earlier thoughts and the context meter</source>
        <translation>思考预算、之前的思考和上下文用量</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Compare</source>
        <translation>对比</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Compare two models</source>
        <translation>对比两个模型</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Ask two models the same question, side by side</source>
        <translation>向两个模型提出同一个问题，并排显示</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>An estimate: how long this model took to load last time</source>
        <translation>估计值：依据此模型上次加载所用的时间</translation>
    </message>
    <message>
        <location line="+26"/>
        <source>Loading {0}… {1} s (last time {2} s)</source>
        <translation>正在加载 {0}… {1} 秒（上次 {2} 秒）</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Loading {0}… {1} s</source>
        <translation>正在加载 {0}… {1} 秒</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>● {0} loaded in {1:.1f} s</source>
        <translation>● {0} 已加载，用时 {1:.1f} 秒</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{0} unloaded; the next message loads it again</source>
        <translation>{0} 已卸载；下一条消息会重新加载它</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{0} could not load: {1}</source>
        <translation>{0} 无法加载：{1}</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>Context {0} / {1}</source>
        <translation>上下文 {0} / {1}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The conversation takes {0}% of what the model can read at once; older turns are dropped when it is full</source>
        <translation>本对话占用了模型一次可读取内容的 {0}%；占满时会丢弃较早的轮次</translation>
    </message>
    <message>
        <source>Model:</source>
        <translation type="vanished">模型：</translation>
    </message>
</context>
<context>
    <name>ModelsPage</name>
    <message>
        <location filename="../../desktop/models/page.py" line="+91"/>
        <source>Looking at this computer&apos;s hardware…</source>
        <translation>正在检查这台电脑的硬件…</translation>
    </message>
    <message>
        <source>Downloads</source>
        <translation type="vanished">下载</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Parameters</source>
        <translation>参数量</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>License</source>
        <translation>许可证</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Download</source>
        <translation>下载大小</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Name</source>
        <translation>名称</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Precision</source>
        <translation>精度</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Provider</source>
        <translation>执行提供程序</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Size</source>
        <translation>大小</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Add a local Hugging Face folder…</source>
        <translation>添加本地 Hugging Face 文件夹…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Available models</source>
        <translation>可用模型</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Installed models</source>
        <translation>已安装的模型</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Speeds shown in tooltips are estimates for this computer.</source>
        <translation>工具提示中显示的速度是针对这台电脑的估计值。</translation>
    </message>
    <message>
        <source>Offline mode is on: downloads are off. Turn it off in Settings.</source>
        <translation type="vanished">离线模式已开启：下载已停用。请在“设置”中关闭离线模式。</translation>
    </message>
    <message>
        <location line="+58"/>
        <source>A model named {0} is already installed.</source>
        <translation>已安装名为 {0} 的模型。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Choose another name.</source>
        <translation>请换一个名称。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Cannot convert this folder</source>
        <translation>无法转换此文件夹</translation>
    </message>
    <message>
        <location line="+27"/>
        <source>Waiting for the hardware check to choose where the model runs…</source>
        <translation>正在等待硬件检查结果，以决定模型在哪里运行…</translation>
    </message>
    <message>
        <location line="+27"/>
        <source>none</source>
        <translation>无</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>the CPU</source>
        <translation>CPU</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{0} · {1} cores · {2} memory ({3} free) · GPU: {4} · models run on {5}</source>
        <translation>{0} · {1} 核 · {2} 内存（可用 {3}）· GPU：{4} · 模型在 {5} 上运行</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>int4: {0} on disk, {1} of memory to run</source>
        <translation>int4：磁盘占用 {0}，运行需要 {1} 内存</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>; converting it here needs {0} of memory</source>
        <translation>；在本机转换需要 {0} 内存</translation>
    </message>
    <message>
        <location line="+25"/>
        <source>Get int4 with the int8 cache (long conversations, CPU)</source>
        <translation>获取 int4（int8 缓存，适合长对话，CPU）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Converted here with an int8 KV cache: a quarter of the cache&apos;s memory and faster answers deep into a long conversation.</source>
        <translation>在本机转换并使用 int8 KV 缓存：缓存内存只需四分之一，长对话后段回答更快。</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>Checking this computer…</source>
        <translation>正在检查这台电脑…</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>fits</source>
        <translation>可运行</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>slow</source>
        <translation>较慢</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>won&apos;t fit</source>
        <translation>内存不足</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>fp16 needs a CUDA or DirectML GPU.</source>
        <translation>fp16 需要支持 CUDA 或 DirectML 的 GPU。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>About {0} tokens/s on this computer (estimate).</source>
        <translation>在这台电脑上约每秒 {0} 个词元（估计值）。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Not enough memory on this computer.</source>
        <translation>这台电脑的内存不足。</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Memory once a conversation reaches:</source>
        <translation>对话达到以下长度时的内存：</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>{0}k tokens: {1}</source>
        <translation>{0}k 词元：{1}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source> ({0} with the int8 cache)</source>
        <translation>（int8 缓存为 {0}）</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>Get</source>
        <translation>获取</translation>
    </message>
    <message>
        <location line="-64"/>
        <source>Get {0}</source>
        <translation>获取 {0}</translation>
    </message>
    <message>
        <location line="+64"/>
        <source>Download and install (int4); the menu has fp16.</source>
        <translation>下载并安装（int4）；菜单中可选择 fp16。</translation>
    </message>
    <message>
        <source>Offline mode is on: turn it off in Settings to download models.</source>
        <translation type="vanished">离线模式已开启：请在“设置”中关闭后再下载模型。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Installed</source>
        <translation>已安装</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Installed. Use the menu to get another precision.</source>
        <translation>已安装。可通过菜单获取其他精度。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Downloading…</source>
        <translation>正在下载…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Resume</source>
        <translation>继续</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Continue the download where it stopped.</source>
        <translation>从中断处继续下载。</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>Default</source>
        <translation>默认</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Set as default</source>
        <translation>设为默认</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Delete</source>
        <translation>删除</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>No models yet: get one above.</source>
        <translation>还没有模型：请从上方获取一个。</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Delete model</source>
        <translation>删除模型</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Delete {0}? Its files are removed from this computer.</source>
        <translation>删除 {0}？其文件将从这台电脑中移除。</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>Choose a Hugging Face checkpoint folder</source>
        <translation>选择 Hugging Face 检查点文件夹</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Name the model</source>
        <translation>为模型命名</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Install it as:</source>
        <translation>安装为：</translation>
    </message>
</context>
<context>
    <name>NavRail</name>
    <message>
        <location filename="../../desktop/nav.py" line="+26"/>
        <source>Navigation</source>
        <translation>导航</translation>
    </message>
</context>
<context>
    <name>NetworkActivity</name>
    <message>
        <location filename="../../desktop/settings/network.py" line="+34"/>
        <source>When</source>
        <translation>时间</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>What</source>
        <translation>内容</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Where</source>
        <translation>目标</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Data</source>
        <translation>数据量</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Result</source>
        <translation>结果</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+18"/>
        <source>Network activity</source>
        <translation>网络活动</translation>
    </message>
    <message>
        <location line="-17"/>
        <source>Refresh</source>
        <translation>刷新</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Clear</source>
        <translation>清空</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Forget the list (nothing else changes).</source>
        <translation>清空此列表（不影响其他任何内容）。</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Every connection Ponder itself made: model and embedding-model downloads and remote engines, with where, when and how much. Anything else would be listed here as unexpected.</source>
        <translation>Ponder 自己建立的每一次连接：模型和嵌入模型的下载、远程引擎，以及目标、时间和数据量。任何其他连接都会在这里标为意外连接。</translation>
    </message>
    <message>
        <location line="+26"/>
        <source>Could not read the list: {0}</source>
        <translation>无法读取列表：{0}</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Nothing yet: Ponder has made no connection.</source>
        <translation>暂无记录：Ponder 尚未建立任何连接。</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Download</source>
        <translation>下载</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Remote engine</source>
        <translation>远程引擎</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Unexpected</source>
        <translation>意外连接</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Done</source>
        <translation>完成</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Cancelled</source>
        <translation>已取消</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Refused: offline mode</source>
        <translation>已拒绝：离线模式</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Reached: {0}</source>
        <translation>已连接：{0}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{0} — by {1}, for {2:.1f} s</source>
        <translation>{0} — 由 {1} 发起，用时 {2:.1f} 秒</translation>
    </message>
</context>
<context>
    <name>Offline</name>
    <message>
        <location filename="../../desktop/offline.py" line="+18"/>
        <source>Offline mode is on ({0}=1 is set in the environment): Ponder connects to nothing beyond this computer.</source>
        <translation>离线模式已开启（环境变量 {0}=1）：Ponder 不会连接这台电脑以外的任何地方。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Offline mode is on: Ponder connects to nothing beyond this computer. Turn it off in Settings › Privacy and network.</source>
        <translation>离线模式已开启：Ponder 不会连接这台电脑以外的任何地方。可在 设置 › 隐私与网络 中关闭。</translation>
    </message>
</context>
<context>
    <name>PageImageView</name>
    <message>
        <location filename="../../desktop/documents/page_image.py" line="+25"/>
        <source>Scanned page</source>
        <translation>扫描页面</translation>
    </message>
</context>
<context>
    <name>PrivacySection</name>
    <message>
        <location filename="../../desktop/settings/sections.py" line="+51"/>
        <source>Checking…</source>
        <translation>正在检查…</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Paste a new token (hf_…)</source>
        <translation>粘贴新的令牌（hf_…）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Needed only for gated or private models. Ponder never shows a saved token again.</source>
        <translation>仅在下载受限或私有模型时需要。已保存的令牌不会再次显示。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Save</source>
        <translation>保存</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Remove</source>
        <translation>删除</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>A Hugging Face mirror to download from; leave empty for huggingface.co.</source>
        <translation>用于下载的 Hugging Face 镜像地址；留空则使用 huggingface.co。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Hub address</source>
        <translation>Hub 地址</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Enter a full http:// or https:// address, or leave it empty.</source>
        <translation>请输入完整的 http:// 或 https:// 地址，或留空。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Offline mode: connect to nothing beyond this computer</source>
        <translation>离线模式：不连接这台电脑以外的任何地方</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>No downloads and no remote engines, whatever is clicked; installed models, documents and the local API keep working.</source>
        <translation>无论点击什么，都不会下载，也不会使用远程引擎；已安装的模型、文档和本地 API 照常工作。</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>What leaves this computer</source>
        <translation>哪些内容会离开这台电脑</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Conversations, documents, settings and keys stay on this computer. Ponder uses the network only when you download a model or an embedding model (from huggingface.co, or the Hub address below) and when you chat with a remote engine you added. The telemetry built into ONNX Runtime and the Hugging Face libraries is switched off before they load.</source>
        <translation>对话、文档、设置和密钥都留在这台电脑上。Ponder 只在你下载模型或嵌入模型（来自 huggingface.co 或下方的 Hub 地址）以及与你添加的远程引擎对话时才联网。ONNX Runtime 和 Hugging Face 库内置的遥测在它们加载之前就已关闭。</translation>
    </message>
    <message>
        <location line="+27"/>
        <source>On because {0}=1 is set in the environment Ponder was started with.</source>
        <translation>已开启，因为启动 Ponder 时环境变量 {0}=1 已设置。</translation>
    </message>
    <message>
        <source>Offline mode</source>
        <translation type="vanished">离线模式</translation>
    </message>
    <message>
        <source>No network at all: Ponder makes no connection of any kind, so models cannot be downloaded; installed models keep working.</source>
        <translation type="vanished">完全不使用网络：Ponder 不会建立任何连接，因此无法下载模型；已安装的模型仍可正常使用。</translation>
    </message>
    <message>
        <location line="-22"/>
        <source>Hugging Face token</source>
        <translation>Hugging Face 令牌</translation>
    </message>
    <message>
        <location line="-1"/>
        <source>Network</source>
        <translation>网络</translation>
    </message>
    <message>
        <source>Conversations and documents never leave this computer; only model downloads use the network.</source>
        <translation type="vanished">对话和文档永远不会离开这台电脑；只有下载模型时才会使用网络。</translation>
    </message>
    <message>
        <location line="+76"/>
        <source>A token is set by the HF_TOKEN environment variable.</source>
        <translation>令牌由 HF_TOKEN 环境变量提供。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>✓ A token is saved.</source>
        <translation>✓ 已保存令牌。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>No token.</source>
        <translation>未保存令牌。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Kept in the system keyring ({backend}).</source>
        <translation>保存在系统密钥环中（{backend}）。</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>No system keyring: {reason}</source>
        <translation>没有系统密钥环：{reason}</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>The keyring refused: {error}</source>
        <translation>密钥环拒绝了操作：{error}</translation>
    </message>
</context>
<context>
    <name>ReasoningPanel</name>
    <message>
        <location filename="../../desktop/chat/reasoning_panel.py" line="+60"/>
        <location line="+28"/>
        <source>Thinking budget</source>
        <translation>思考预算</translation>
    </message>
    <message>
        <location line="-27"/>
        <source>The most tokens the model may think; then it closes the thought and answers</source>
        <translation>模型最多可用于思考的词元数；用完后结束思考并作答</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>No limit</source>
        <translation>不限</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>{0} tokens</source>
        <translation>{0} 个词元</translation>
    </message>
    <message>
        <location line="+3"/>
        <location line="+1"/>
        <source>Think before answering</source>
        <translation>回答前先思考</translation>
    </message>
    <message>
        <location line="+5"/>
        <location line="+18"/>
        <source>Earlier thoughts</source>
        <translation>之前的思考</translation>
    </message>
    <message>
        <location line="-17"/>
        <source>Drop them (frees the context)</source>
        <translation>丢弃（释放上下文）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Keep them in the conversation</source>
        <translation>保留在对话中</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Context meter</source>
        <translation>上下文用量</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Context used</source>
        <translation>已用上下文</translation>
    </message>
    <message>
        <location line="+61"/>
        <source>This model&apos;s template removes earlier thoughts itself</source>
        <translation>此模型的模板会自行移除之前的思考</translation>
    </message>
    <message>
        <location line="+27"/>
        <source>System prompt {0} · documents {1} · earlier thoughts {2} · answers {3} · questions {4} — {5} of {6} tokens, {7} kept for the reply</source>
        <translation>系统提示词 {0} · 文档 {1} · 之前的思考 {2} · 回答 {3} · 提问 {4} — 共 {6} 个词元中已用 {5}，为回复预留 {7}</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>The context is full: the {0} oldest messages ({1} tokens) are left out of the next reply.</source>
        <translation>上下文已满：下一次回复将略去最早的 {0} 条消息（{1} 个词元）。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The context is {0}% full: soon the oldest messages will be left out. Dropping earlier thoughts frees {1} tokens.</source>
        <translation>上下文已用 {0}%：很快将略去最早的消息。丢弃之前的思考可释放 {1} 个词元。</translation>
    </message>
</context>
<context>
    <name>RemoteDialog</name>
    <message>
        <location filename="../../desktop/settings/server.py" line="+43"/>
        <source>Add a remote engine</source>
        <translation>添加远程引擎</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>e.g. lab-vllm</source>
        <translation>例如 lab-vllm</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>leave empty if it needs none</source>
        <translation>不需要时留空</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Name:</source>
        <translation>名称：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Address:</source>
        <translation>地址：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>API key:</source>
        <translation>API 密钥：</translation>
    </message>
</context>
<context>
    <name>ReplyMixin</name>
    <message>
        <location filename="../../desktop/chat/replying.py" line="+140"/>
        <source>Some documents are still being indexed; this answer uses the ones ready.</source>
        <translation>部分文档仍在建立索引；此回答只使用已就绪的文档。</translation>
    </message>
    <message>
        <location line="+46"/>
        <source>The reasoning is going in circles. Press “Answer now” or Stop.</source>
        <translation>推理陷入了循环。请按“立即回答”或“停止”。</translation>
    </message>
    <message>
        <location line="+29"/>
        <source>The reply failed</source>
        <translation>回复失败</translation>
    </message>
</context>
<context>
    <name>ServerSection</name>
    <message>
        <location filename="../../desktop/settings/server.py" line="+22"/>
        <source>Serve an OpenAI-compatible API on this computer</source>
        <translation>在本机提供 OpenAI 兼容的 API</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Show</source>
        <translation>显示</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Copy</source>
        <translation>复制</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>New key</source>
        <translation>新密钥</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Port:</source>
        <translation>端口：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>API key:</source>
        <translation>API 密钥：</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Programs on this computer only (127.0.0.1) can connect, and only with the key: use it as the &apos;Bearer&apos; API key and http://127.0.0.1:PORT/v1 as the base URL. Reasoning comes in &apos;reasoning_content&apos;, as DeepSeek&apos;s API does.</source>
        <translation>只有本机（127.0.0.1）上的程序可以连接，并且必须提供密钥：把它作为 &apos;Bearer&apos; API 密钥，基础地址为 http://127.0.0.1:端口/v1。推理过程在 &apos;reasoning_content&apos; 中返回，与 DeepSeek 官方 API 一致。</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Add…</source>
        <translation>添加…</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Remove</source>
        <translation>移除</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Chat with models served elsewhere — vLLM, Ollama, exo or another Ponder — by their OpenAI-compatible address. Their models appear in the chat&apos;s model list. Keys are kept in the system keyring.</source>
        <translation>通过 OpenAI 兼容地址与其他地方提供的模型对话——vLLM、Ollama、exo 或另一个 Ponder。它们的模型会出现在对话的模型列表中。密钥保存在系统钥匙串中。</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Local API</source>
        <translation>本地 API</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Remote engines</source>
        <translation>远程引擎</translation>
    </message>
    <message>
        <location line="+27"/>
        <source>Starting…</source>
        <translation>正在启动…</translation>
    </message>
    <message>
        <location line="+31"/>
        <source>Stopping…</source>
        <translation>正在停止…</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Running at {0}</source>
        <translation>运行于 {0}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Off</source>
        <translation>已关闭</translation>
    </message>
    <message>
        <location line="+29"/>
        <source>unencrypted: the key and messages cross the network in clear text</source>
        <translation>未加密：密钥和消息以明文在网络上传输</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>Checking {0}…</source>
        <translation>正在检查 {0}…</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{0} answers with {1} model(s).</source>
        <translation>{0} 已响应，提供 {1} 个模型。</translation>
    </message>
</context>
<context>
    <name>SettingsPage</name>
    <message>
        <location filename="../../desktop/settings/page.py" line="+62"/>
        <source>Hardware</source>
        <translation>硬件</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Generation</source>
        <translation>生成</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Documents</source>
        <translation>文档</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Privacy and network</source>
        <translation>隐私与网络</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>API and remote engines</source>
        <translation>API 与远程引擎</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Appearance</source>
        <translation>外观</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Where models run and how fast.</source>
        <translation>模型在哪里运行，速度如何。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>How new conversations answer.</source>
        <translation>新对话如何回答。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>What leaves this computer, offline mode, and every connection Ponder made.</source>
        <translation>哪些内容会离开这台电脑、离线模式，以及 Ponder 建立的每一次连接。</translation>
    </message>
    <message>
        <source>Your Hugging Face token, downloads and the network.</source>
        <translation type="vanished">你的 Hugging Face 令牌、下载与网络。</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Let other programs use your models; chat with models served elsewhere.</source>
        <translation>让其他程序使用你的模型；与其他地方提供的模型对话。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The model that finds passages in your documents.</source>
        <translation>在你的文档中查找段落的模型。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Theme, text size and language.</source>
        <translation>主题、文字大小和语言。</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Settings sections</source>
        <translation>设置分类</translation>
    </message>
    <message>
        <location line="+98"/>
        <source>Could not save the settings: {error}</source>
        <translation>无法保存设置：{error}</translation>
    </message>
</context>
<context>
    <name>Shortcuts</name>
    <message>
        <location filename="../../desktop/shortcuts.py" line="+24"/>
        <source>New chat</source>
        <translation>新对话</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Search conversations</source>
        <translation>搜索对话</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Stop the reply</source>
        <translation>停止回复</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Regenerate the last reply</source>
        <translation>重新生成最后一条回复</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Copy the last answer</source>
        <translation>复制最后一个回答</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
</context>
<context>
    <name>SourceDialog</name>
    <message>
        <location filename="../../desktop/documents/source_view.py" line="+46"/>
        <source>Source [{0}] — {1}</source>
        <translation>来源 [{0}] — {1}</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Opening {0}…</source>
        <translation>正在打开 {0}…</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>◀ Previous page</source>
        <translation>◀ 上一页</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Next page ▶</source>
        <translation>下一页 ▶</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Open the file</source>
        <translation>打开文件</translation>
    </message>
    <message>
        <location line="+64"/>
        <source>{0} — page {1} of {2}</source>
        <translation>{0} — 第 {1} 页，共 {2} 页</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>The file changed after it was indexed; the passage was found by its text.</source>
        <translation>文件在建立索引后已更改；已按文字重新找到该段落。</translation>
    </message>
    <message>
        <location line="-74"/>
        <source>Page image</source>
        <translation>页面图像</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Text</source>
        <translation>文本</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Source</source>
        <translation>来源</translation>
    </message>
</context>
<context>
    <name>SpeedChart</name>
    <message>
        <location filename="../../desktop/settings/chart.py" line="+57"/>
        <source>No speed test run yet</source>
        <translation>尚未运行速度测试</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>{value:.1f} tokens/s</source>
        <translation>每秒 {value:.1f} 个词元</translation>
    </message>
    <message>
        <location line="+20"/>
        <source>failed: {error}</source>
        <translation>失败：{error}</translation>
    </message>
</context>
<context>
    <name>Transcript</name>
    <message>
        <location filename="../../desktop/chat/pieces.py" line="+33"/>
        <source>Thinking… {0} s</source>
        <translation>正在思考… {0} 秒</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Reasoning (unfinished)</source>
        <translation>推理过程（未完成）</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Reasoning</source>
        <translation>推理过程</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Thought for {0} s</source>
        <translation>思考了 {0} 秒</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>You</source>
        <translation>你</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Assistant</source>
        <translation>助手</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Interrupted</source>
        <translation>已中断</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Stopped</source>
        <translation>已停止</translation>
    </message>
    <message>
        <location line="+1"/>
        <location filename="../../desktop/chat/render.py" line="+73"/>
        <source>Copy</source>
        <translation>复制</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Edit</source>
        <translation>编辑</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Regenerate</source>
        <translation>重新生成</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Sources:</source>
        <translation>来源：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Sources, reranked:</source>
        <translation>来源（已重排序）：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>No passage in the documents matched this question.</source>
        <translation>文档中没有与此问题相关的段落。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{0} tokens</source>
        <translation>{0} 个词元</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>{0:.1f} tok/s</source>
        <translation>{0:.1f} 词元/秒</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{0:.2f} s to first token</source>
        <translation>首词元 {0:.2f} 秒</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Answer now</source>
        <translation>立即回答</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>{0} instead of the chosen hardware: {1}</source>
        <translation>使用 {0} 而非所选硬件：{1}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Not supported by the cited passage:</source>
        <translation>所引段落并不支持以下内容：</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>not supported by its source</source>
        <translation>来源并不支持这句话</translation>
    </message>
    <message>
        <location filename="../../desktop/chat/render.py" line="-1"/>
        <source>code</source>
        <translation>代码</translation>
    </message>
</context>
<context>
    <name>TranscriptView</name>
    <message>
        <location filename="../../desktop/chat/transcript.py" line="+285"/>
        <source>Conversation</source>
        <translation>对话</translation>
    </message>
</context>
<context>
    <name>WelcomePage</name>
    <message>
        <location filename="../../desktop/models/welcome.py" line="+33"/>
        <source>Welcome to Ponder</source>
        <translation>欢迎使用 Ponder</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Private AI on your own computer: the model runs here, and nothing you type leaves this machine. To begin, download a model.</source>
        <translation>在你自己的电脑上运行的私有 AI：模型在本机运行，你输入的任何内容都不会离开这台电脑。首先，请下载一个模型。</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Recommended for this computer</source>
        <translation>为这台电脑推荐</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Looking at this computer&apos;s hardware…</source>
        <translation>正在检查这台电脑的硬件…</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Download</source>
        <translation>下载大小</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Memory needed</source>
        <translation>所需内存</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Speed</source>
        <translation>速度</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Get the recommended model</source>
        <translation>获取推荐的模型</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>See all models</source>
        <translation>查看所有模型</translation>
    </message>
    <message>
        <location line="+44"/>
        <source>{0} of memory ({1} free now)</source>
        <translation>{0} 内存（当前可用 {1}）</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>about {0} tokens/s on this computer (estimate)</source>
        <translation>在这台电脑上约每秒 {0} 个词元（估计值）</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>it may not run here: not enough free memory</source>
        <translation>可能无法在这里运行：可用内存不足</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The best reasoning model that runs comfortably on this computer.</source>
        <translation>能在这台电脑上流畅运行的最佳推理模型。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Memory is tight on this computer, so it may be slow; close other apps first.</source>
        <translation>这台电脑的内存较紧张，运行可能较慢；请先关闭其他应用。</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>This computer may not have enough free memory; close other apps first.</source>
        <translation>这台电脑的可用内存可能不足；请先关闭其他应用。</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Get {0}</source>
        <translation>获取 {0}</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Could not choose a model</source>
        <translation>无法选择模型</translation>
    </message>
</context>
</TS>
